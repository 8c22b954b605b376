# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
#
# PRIVATE to the smartt.s4 collection: this API may change at any time.
"""Per-table row counts and content checksums of MariaDB/MySQL and PostgreSQL databases, comparable across
major versions. Stdlib only (Python 3.6+): talks to the servers through the ``mariadb``/``mysql`` and ``psql``
command-line clients; passwords go through a private defaults file (MariaDB) or ``PGPASSWORD`` (PostgreSQL), never
the command line.

PostgreSQL (method ``pg-copy-sha256-v1``): one ``psql`` session per database opens a ``REPEATABLE READ READ ONLY``
transaction, lists the tables (version, columns, primary key) and, through ``\\gexec``, streams
``COPY (SELECT <columns> FROM <table> ORDER BY <primary key> COLLATE "C") TO STDOUT`` for every table into SHA-256;
rows are counted from the same stream. Listing and data come from the same snapshot. Session settings pin every
text rendering that differs between servers (``extra_float_digits=3``, ``DateStyle=ISO``, ``TimeZone=UTC``,
``IntervalStyle=postgres``, ``bytea_output=hex``, ``lc_monetary=C``, ``client_encoding=UTF8``). Tables without a
primary key are ordered by their whole-row text in the ``C`` collation and flagged ``no_primary_key``.

MariaDB/MySQL (method ``mariadb-ordered-sha256-v1``, default): one client session for all databases opens
``START TRANSACTION WITH CONSISTENT SNAPSHOT`` (REPEATABLE READ, ``time_zone='+00:00'``) and streams, per table,
``SELECT <columns>, <null map> ORDER BY <primary key, text keys CAST AS BINARY>`` (client ``--batch --quick``:
tab-separated, ``\t \n \\ \0`` escaped) into SHA-256; tables are separated by marker rows carrying a random
per-run token. The null map column disambiguates NULL from the string ``NULL``. Method ``md5sum`` instead sums both
64-bit halves of ``MD5(CONCAT_WS(0x00, <columns as binary>, <null map>))`` inside the server (order-free).
``CHECKSUM TABLE`` (method ``checksum_table``) is NOT comparable across versions or row formats.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid

__metaclass__ = type

PG_METHOD = "pg-copy-sha256-v1"
MARIADB_METHOD = "mariadb-ordered-sha256-v1"
MARIADB_MD5SUM_METHOD = "mariadb-md5sum-v1"
CHECKSUM_TABLE_METHOD = "mariadb-checksum-table"
MARIADB_SYSTEM_DBS = ("information_schema", "performance_schema", "mysql", "sys")
PG_SETTINGS = (
    "SET client_encoding = 'UTF8'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET TimeZone = 'UTC'",
    "SET extra_float_digits = 3",
    "SET bytea_output = 'hex'",
    "SET lc_monetary = 'C'",
    "SET statement_timeout = 0",
)
READ_SIZE = 1024 * 1024


class DbSumError(Exception):
    """Checksum could not be taken; the message names engine, host and database and never the password."""


# --------------------------------------------------------------------------------------------------- helpers

def quote_pg(name):
    # type: (str) -> str
    return '"' + name.replace('"', '""') + '"'


def quote_my(name):
    # type: (str) -> str
    return "`" + name.replace("`", "``") + "`"


def quote_my_string(value):
    # type: (str) -> str
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


_MY_UNESCAPE = {"n": "\n", "t": "\t", "0": "\0", "\\": "\\", "r": "\r", "b": "\b", "Z": "\x1a"}


def unescape_batch(field):
    # type: (str) -> str
    """Undo the escaping of ``mariadb --batch`` output (``\\t``, ``\\n``, ``\\\\``, ``\\0``)."""
    if "\\" not in field:
        return field
    return re.sub(r"\\(.)", lambda m: _MY_UNESCAPE.get(m.group(1), m.group(1)), field)


def _mask(text, secret):
    if secret:
        text = text.replace(secret, "********")
    return text


def _where(params, database=None):
    host = params.get("login_unix_socket") or params.get("login_host") or "local socket"
    port = params.get("login_port")
    where = "{0} on host {1!r}".format(params["engine"], host)
    if port and not params.get("login_unix_socket"):
        where += " port {0}".format(port)
    if database:
        where += " database {0!r}".format(database)
    elif params.get("databases"):
        where += " database(s) {0}".format(", ".join(repr(str(x)) for x in params["databases"]))
    else:
        where += " (all databases)"
    return where


def db_checksum_of(tables):
    # type: (list) -> str
    """Checksum of a database: SHA-256 over its sorted (table, rows, checksum) lines."""
    h = hashlib.sha256()
    for t in sorted(tables, key=lambda x: (x.get("schema") or "", x["name"])):
        h.update(u"{0}\t{1}\t{2}\t{3}\n".format(t.get("schema") or "", t["name"], t["rows"], t["checksum"]).encode("utf-8"))
    return h.hexdigest()


def _select_tables(all_tables, include, exclude):
    out = []
    for t in all_tables:
        full = "{0}.{1}".format(t["schema"], t["name"]) if t.get("schema") else t["name"]
        if include and t["name"] not in include and full not in include:
            continue
        if exclude and (t["name"] in exclude or full in exclude):
            continue
        out.append(t)
    return out


# --------------------------------------------------------------------------------------------------- streaming

class MarkerStream:
    """Split a ``psql`` output stream into per-table segments delimited by ``\\S4END-<token> <n>`` lines and hash
    each segment. COPY text format escapes every backslash in data, so no data line can start with ``\\S``."""

    def __init__(self, token, prefix=b"\\S4END-", sep=b" ", capture_first=False):
        self.marker = b"\n" + prefix + token.encode("ascii") + sep
        self.results = []          # (index, rows, sha256 hex)
        self.head = None           # raw bytes of the first segment when capture_first
        self._capture = [] if capture_first else None
        self._h = hashlib.sha256()
        self._rows = 0
        self._data = b"\n"         # the virtual newline before the first segment

    def feed(self, chunk):
        # type: (bytes) -> None
        data = self._data + chunk  # data[0] is the byte before the unprocessed part
        pos = 1
        m = self.marker
        incomplete = -1
        while True:
            k = data.find(m, pos - 1)
            if k == -1:
                break
            eol = data.find(b"\n", k + len(m))
            if eol == -1:  # marker line not complete yet
                incomplete = k
                break
            self._consume(data, pos, k + 1)
            if self._capture is not None:
                self.head = b"".join(self._capture)
                self._capture = None
            else:
                self.results.append((int(data[k + len(m):eol].decode("ascii")), self._rows, self._h.hexdigest()))
                self._h = hashlib.sha256()
                self._rows = 0
            pos = eol + 1
        # hash everything that can no longer belong to a marker; keep the rest and the byte before it
        cut = incomplete + 1 if incomplete != -1 else max(pos, len(data) - len(m) + 1)
        if cut > pos:
            self._consume(data, pos, cut)
            pos = cut
        self._data = data[pos - 1:]

    def _consume(self, data, start, end):
        """Hash (or capture) data[start:end] without copying it."""
        if self._capture is not None:
            self._capture.append(data[start:end])
        else:
            self._h.update(memoryview(data)[start:end])
            self._rows += data.count(b"\n", start, end)

    def leftover(self):
        # type: () -> bytes
        return self._data[1:]


def _pump_stdin(proc, script):
    try:
        proc.stdin.write(script)
        proc.stdin.close()
    except (IOError, OSError):
        pass


def _run(cmd, env, script, params, database, stream=None, timeout=None):
    # type: (list, dict, bytes, dict, object, object, object) -> bytes
    """Run a client with ``script`` on stdin; feed stdout to ``stream`` (or collect it); raise DbSumError on failure."""
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as exc:
        raise DbSumError("{0}: cannot run {1!r}: {2}".format(_where(params, database), cmd[0], exc)) from None
    writer = threading.Thread(target=_pump_stdin, args=(proc, script))
    writer.daemon = True
    writer.start()
    err_chunks = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))
    reader.daemon = True
    reader.start()
    out = []
    fd = proc.stdout.fileno()
    try:  # fewer, larger reads from the client (Linux; best effort)
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), READ_SIZE)
    except (ImportError, IOError, OSError):
        pass
    while True:
        chunk = os.read(fd, READ_SIZE)
        if not chunk:
            break
        if stream is not None:
            stream.feed(chunk)
        else:
            out.append(chunk)
    rc = proc.wait()
    writer.join()
    reader.join()
    err = b"".join(err_chunks).decode("utf-8", "replace").strip()
    if rc != 0:
        raise DbSumError("{0}: {1} failed (rc={2}): {3}".format(
            _where(params, database), os.path.basename(cmd[0]), rc, _mask(err, params.get("login_password"))[-1500:]))
    return b"".join(out)


# --------------------------------------------------------------------------------------------------- PostgreSQL

_PG_COLLATABLE = """CASE WHEN a.attcollation = 0 THEN false
      WHEN a.attcollation = 100 THEN (SELECT datcollate FROM pg_database WHERE datname = current_database())
                                     NOT IN ('C', 'POSIX')
      ELSE (SELECT collname FROM pg_collation WHERE oid = a.attcollation) NOT IN ('C', 'POSIX') END"""

# Tables of the current database with their columns, primary key and the COPY statement that streams them.
_PG_TABLES_CTE = """WITH s4tables AS (
  SELECT n.nspname, c.relname,
    json_build_object('schema', n.nspname, 'name', c.relname,
      'columns', (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'pk', (SELECT json_agg(a.attname ORDER BY k.ord)
             FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = c.oid AND i.indisprimary)) AS info,
    format('COPY (SELECT %s FROM %I.%I AS s4t ORDER BY %s) TO STDOUT',
      coalesce((SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''),
      n.nspname, c.relname,
      coalesce((SELECT string_agg(quote_ident(a.attname) || CASE WHEN COLLATABLE THEN ' COLLATE "C"' ELSE '' END,
                                  ', ' ORDER BY k.ord)
                FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = c.oid AND i.indisprimary), '(s4t.*)::text COLLATE "C"')) AS copy
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%' FILTERS)
""".replace("COLLATABLE", _PG_COLLATABLE)
_PG_ORDER = 'ORDER BY nspname COLLATE "C", relname COLLATE "C"'


def quote_pg_literal(value):
    # type: (str) -> str
    return "'" + value.replace("'", "''") + "'"


def _pg_filters(include, exclude):
    # type: (list, list) -> str
    def match(names):
        arr = "ARRAY[{0}]::text[]".format(", ".join(quote_pg_literal(x) for x in names))
        return "(c.relname = ANY({0}) OR n.nspname || '.' || c.relname = ANY({0}))".format(arr)
    out = ""
    if include:
        out += " AND " + match(include)
    if exclude:
        out += " AND NOT " + match(exclude)
    return out


def pg_script(token, include=None, exclude=None):
    # type: (str, object, object) -> str
    """One psql session: pinned settings, snapshot, version, table list, then a COPY and a marker per table."""
    cte = _PG_TABLES_CTE.replace("FILTERS", _pg_filters(include or [], exclude or []))
    lines = [x + ";" for x in PG_SETTINGS]
    lines.append("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;")
    lines.append("SHOW server_version;")
    lines.append(cte + "SELECT info FROM s4tables " + _PG_ORDER + ";")
    lines.append("\\echo '\\\\S4END-{0} L'".format(token))
    lines.append(cte + "SELECT copy, format('SELECT %L', '\\S4END-{0} ' || (row_number() OVER ({1}) - 1)) "
                 "FROM s4tables {1}".format(token, _PG_ORDER))
    lines.append("\\gexec")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def _pg_env(params):
    env = dict(os.environ)
    for var in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGOPTIONS"):
        env.pop(var, None)
    env["PGAPPNAME"] = "s4_db_checksum"
    env["PGCONNECT_TIMEOUT"] = str(params.get("connect_timeout") or 10)
    env["PGCLIENTENCODING"] = "UTF8"
    if params.get("login_unix_socket"):
        env["PGHOST"] = params["login_unix_socket"]
    elif params.get("login_host"):
        env["PGHOST"] = params["login_host"]
    if params.get("login_port"):
        env["PGPORT"] = str(params["login_port"])
    if params.get("login_user"):
        env["PGUSER"] = params["login_user"]
    if params.get("login_password"):
        env["PGPASSWORD"] = params["login_password"]
    if params.get("ssl_mode"):
        env["PGSSLMODE"] = params["ssl_mode"]
    return env


def _psql(params):
    return [params.get("client") or shutil.which("psql") or "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]


def pg_list_databases(params, env):
    sql = b"SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1;\n"
    out = _run(_psql(params) + ["-A", "-t", "-0", "-d", params.get("maintenance_db") or "postgres"], env, sql,
               params, params.get("maintenance_db") or "postgres")
    return [x.decode("utf-8") for x in out.split(b"\0") if x.strip(b"\n")]


def pg_checksum_database(params, env, database):
    """Return (tables, server version) of ``database``, all read in one REPEATABLE READ snapshot."""
    token = uuid.uuid4().hex[:12]
    stream = MarkerStream(token, capture_first=True)
    script = pg_script(token, params.get("tables"), params.get("exclude_tables"))
    _run(_psql(params) + ["-A", "-t", "-d", database], env, script.encode("utf-8"), params, database, stream=stream)
    head = (stream.head or b"").decode("utf-8", "replace").split("\n")
    version = head[0].strip() if head else None
    tables = [json.loads(line) for line in head[1:] if line.strip()]
    if stream.head is None or len(stream.results) != len(tables) or stream.leftover().strip():
        raise DbSumError("{0}: output of psql could not be split per table ({1} of {2} tables)".format(
            _where(params, database), len(stream.results), len(tables)))
    out = []
    for (_index, rows, digest), t in zip(stream.results, tables):  # noqa: B905
        out.append({"schema": t["schema"], "name": t["name"], "rows": rows, "checksum": digest,
                    "no_primary_key": not t.get("pk"), "primary_key": t.get("pk") or [],
                    "columns": t["columns"], "method": PG_METHOD, "transactional": True})
    return out, version


# --------------------------------------------------------------------------------------------------- MariaDB

_MY_TEXT_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json")


class _MyClient:
    def __init__(self, params):
        self.params = params
        self.tmpdir = tempfile.mkdtemp(prefix="s4dbsum.")
        self.defaults = os.path.join(self.tmpdir, "client.cnf")
        lines = ["[client]"]
        p = params
        if p.get("login_user"):
            lines.append("user=" + p["login_user"])
        if p.get("login_password"):
            lines.append('password="' + p["login_password"].replace("\\", "\\\\").replace('"', '\\"') + '"')
        if p.get("login_unix_socket"):
            lines.append("socket=" + p["login_unix_socket"])
        elif p.get("login_host"):
            lines.append("host=" + p["login_host"])
        if p.get("login_port"):
            lines.append("port=" + str(p["login_port"]))
        fd = os.open(self.defaults, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        binary = p.get("client") or shutil.which("mariadb") or shutil.which("mysql") or "mysql"
        self.cmd = [binary, "--defaults-extra-file=" + self.defaults, "--batch", "--skip-column-names",
                    "--connect-timeout={0}".format(p.get("connect_timeout") or 10), "--default-character-set=utf8mb4"]
        self.env = dict(os.environ)
        self.env.pop("MYSQL_PWD", None)
        self.env.pop("MYSQL_HOST", None)

    def close(self):
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def query(self, sql, database=None):
        # type: (str, object) -> list
        out = _run(self.cmd, self.env, sql.encode("utf-8"), self.params, database)
        rows = []
        for line in out.decode("utf-8", "surrogateescape").split("\n"):
            if line:
                rows.append([unescape_batch(f) for f in line.split("\t")])
        return rows


def my_list_databases(client):
    rows = client.query("SHOW DATABASES;")
    return [r[0] for r in rows if r[0] not in MARIADB_SYSTEM_DBS]


def my_list_tables(client, databases):
    if not databases:
        return {}
    sql = ("SELECT t.TABLE_SCHEMA, t.TABLE_NAME, IFNULL(t.ENGINE, ''), c.COLUMN_NAME, c.DATA_TYPE, c.IS_NULLABLE,"
           " c.COLUMN_KEY FROM information_schema.TABLES t JOIN information_schema.COLUMNS c"
           " ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME"
           " WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA IN ({0})"
           " ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME, c.ORDINAL_POSITION;").format(
        ", ".join(quote_my_string(d) for d in databases))
    out = {}  # type: dict
    for schema, name, engine, col, dtype, nullable, key in client.query(sql):
        tables = out.setdefault(schema, [])
        if not tables or tables[-1]["name"] != name:
            tables.append({"schema": None, "name": name, "engine": engine, "columns": [], "pk": []})
        t = tables[-1]
        t["columns"].append((col, dtype.lower(), nullable == "YES"))
        if key == "PRI":
            t["pk"].append(col)
    return out


def my_row_expr(t):
    # type: (dict) -> str
    parts = []
    nulls = []
    for col, dtype, nullable in t["columns"]:
        q = quote_my(col)
        parts.append("CAST({0} AS BINARY)".format(q) if dtype in _MY_TEXT_TYPES else q)
        if nullable:
            nulls.append("ISNULL({0})".format(q))
    if nulls:
        parts.append("CONCAT({0})".format(", ".join(nulls)))
    return "MD5(CONCAT_WS(0x00, {0}))".format(", ".join(parts))


def my_table_query(index, database, t):
    # type: (int, str, dict) -> str
    return ("SELECT {0}, COUNT(*), IFNULL(SUM(CAST(CONV(LEFT(s4h, 16), 16, 10) AS UNSIGNED)), 0),"
            " IFNULL(SUM(CAST(CONV(RIGHT(s4h, 16), 16, 10) AS UNSIGNED)), 0)"
            " FROM (SELECT {1} AS s4h FROM {2}.{3}) AS s4x;").format(
        index, my_row_expr(t), quote_my(database), quote_my(t["name"]))


def my_order_expr(t):
    # type: (dict) -> str
    """Primary key order (text keys compared as bytes: no collation dependence); whole row without a key."""
    types = dict((c[0], c[1]) for c in t["columns"])
    cols = t["pk"] or [c[0] for c in t["columns"]]
    return ", ".join("CAST({0} AS BINARY)".format(quote_my(c)) if types.get(c) in _MY_TEXT_TYPES else quote_my(c)
                     for c in cols)


def my_select_query(database, t):
    # type: (str, dict) -> str
    cols = [quote_my(c[0]) for c in t["columns"]]
    nulls = ["ISNULL({0})".format(quote_my(c[0])) for c in t["columns"] if c[2]]
    if nulls:  # batch output prints NULL and the string 'NULL' alike: add a null map
        cols.append("CONCAT({0})".format(", ".join(nulls)))
    return "SELECT {0} FROM {1}.{2} ORDER BY {3};".format(", ".join(cols), quote_my(database), quote_my(t["name"]),
                                                          my_order_expr(t))


def _my_stream(client, plan, params):
    token = uuid.uuid4().hex[:16]
    lines = ["SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;", "SET time_zone = '+00:00';",
             "SET SESSION max_sort_length = 65536;", "SET SESSION sort_buffer_size = 33554432;",
             "START TRANSACTION WITH CONSISTENT SNAPSHOT;"]
    for i, (d, t) in enumerate(plan):
        lines.append(my_select_query(d, t))
        lines.append("SELECT 'S4END-{0}', {1};".format(token, i))
    lines.append("COMMIT;")
    stream = MarkerStream(token, prefix=b"S4END-", sep=b"\t")
    _run(client.cmd + ["--quick"], client.env, ("\n".join(lines) + "\n").encode("utf-8"), params, None, stream=stream)
    if len(stream.results) != len(plan) or stream.leftover().strip():
        raise DbSumError("{0}: client output could not be split per table ({1} of {2} tables)".format(
            _where(params), len(stream.results), len(plan)))
    return [(rows, digest) for _i, rows, digest in stream.results]


def _transactional(engine):
    return engine.lower() in ("innodb", "xtradb", "rocksdb")


def my_checksum(params):
    client = _MyClient(params)
    try:
        try:
            version = client.query("SELECT VERSION();")[0][0]
        except DbSumError as exc:
            raise DbSumError("cannot connect: {0}".format(exc)) from None
        databases = params.get("databases") or my_list_databases(client)
        databases = [d for d in databases if d not in (params.get("exclude_databases") or [])]
        listing = my_list_tables(client, databases)
        existing = set(r[0] for r in client.query("SHOW DATABASES;"))
        missing = [d for d in databases if d not in existing]
        if missing:
            raise DbSumError("{0}: database(s) not found: {1}".format(_where(params), ", ".join(missing)))
        plan = []
        for d in databases:
            for t in _select_tables(listing.get(d, []), params.get("tables"), params.get("exclude_tables")):
                plan.append((d, t))
        method = params.get("mariadb_method") or "ordered_sha256"
        sums = {}
        if method == "ordered_sha256":
            result = dict((d, []) for d in databases)
            for (d, t), (count, digest) in zip(plan, _my_stream(client, plan, params)):  # noqa: B905
                result[d].append({"schema": None, "name": t["name"], "rows": count, "checksum": digest,
                                  "no_primary_key": not t["pk"], "primary_key": t["pk"], "columns": len(t["columns"]),
                                  "engine": t["engine"], "transactional": _transactional(t["engine"]),
                                  "method": MARIADB_METHOD})
            return version, result
        if method == "checksum_table" and plan:
            sql = "CHECKSUM TABLE {0} EXTENDED;".format(", ".join(
                "{0}.{1}".format(quote_my(d), quote_my(t["name"])) for d, t in plan))
            for name, value in client.query(sql):
                sums[name] = value
        lines = ["SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;", "SET time_zone = '+00:00';",
                 "SET SESSION group_concat_max_len = 1024;",
                 "START TRANSACTION WITH CONSISTENT SNAPSHOT;"]
        for i, (d, t) in enumerate(plan):
            lines.append(my_table_query(i, d, t))
        lines.append("COMMIT;")
        rows = client.query("\n".join(lines) + "\n") if plan else []
        if len(rows) != len(plan):
            raise DbSumError("{0}: expected {1} result rows, got {2}".format(_where(params), len(plan), len(rows)))
        result = dict((d, []) for d in databases)
        for (d, t), row in zip(plan, rows):  # noqa: B905
            count, s1, s2 = int(row[1]), int(row[2]), int(row[3])
            entry = {"schema": None, "name": t["name"], "rows": count, "no_primary_key": not t["pk"],
                     "primary_key": t["pk"], "columns": len(t["columns"]), "engine": t["engine"],
                     "transactional": _transactional(t["engine"]),
                     "method": MARIADB_MD5SUM_METHOD}
            if method == "checksum_table":
                entry["method"] = CHECKSUM_TABLE_METHOD
                entry["checksum"] = str(sums.get("{0}.{1}".format(d, t["name"])))
            else:
                entry["checksum"] = hashlib.sha256(
                    "{0}:{1}:{2}:{3}".format(MARIADB_MD5SUM_METHOD, count, s1, s2).encode("ascii")).hexdigest()
            result[d].append(entry)
        return version, result
    finally:
        client.close()


# --------------------------------------------------------------------------------------------------- entry point

def checksum(params):
    # type: (dict) -> dict
    """Checksum the databases described by ``params`` (the module's options). Raises DbSumError."""
    engine = params.get("engine")
    out = {"engine": engine, "host": params.get("login_host") or params.get("login_unix_socket") or "localhost",
           "databases": []}
    if engine == "postgresql":
        env = _pg_env(params)
        try:
            dbs = params.get("databases") or pg_list_databases(params, env)
        except DbSumError as exc:
            raise DbSumError("cannot connect: {0}".format(exc)) from None
        dbs = [d for d in dbs if d not in (params.get("exclude_databases") or [])]
        out["server_version"] = None
        for d in dbs:
            tables, version = pg_checksum_database(params, env, d)
            out["server_version"] = out["server_version"] or version
            out["databases"].append(_db_entry(d, tables))
        out["method"] = PG_METHOD
    elif engine in ("mariadb", "mysql"):
        version, result = my_checksum(params)
        out["server_version"] = version
        for d in sorted(result):
            out["databases"].append(_db_entry(d, result[d]))
        out["method"] = {"checksum_table": CHECKSUM_TABLE_METHOD, "md5sum": MARIADB_MD5SUM_METHOD}.get(
            params.get("mariadb_method") or "", MARIADB_METHOD)
    else:
        raise DbSumError("unknown engine {0!r} (mariadb, mysql or postgresql)".format(engine))
    out["tables_count"] = sum(len(d["tables"]) for d in out["databases"])
    out["rows"] = sum(d["rows"] for d in out["databases"])
    out["no_primary_key"] = ["{0}/{1}".format(d["name"], (t["schema"] + "." if t.get("schema") else "") + t["name"])
                             for d in out["databases"] for t in d["tables"] if t["no_primary_key"]]
    return out


def _db_entry(name, tables):
    return {"name": name, "tables": tables, "rows": sum(t["rows"] for t in tables), "checksum": db_checksum_of(tables)}
