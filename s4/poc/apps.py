"""Database schema upgrades of the distro-packaged applications on a POC (WordPress, roundcube).

The POC runs the target release's package of an application (WordPress 6.8, roundcube 1.6 on Debian 13) on a copy of
the client's database, whose schema is still the source's (WordPress 5.7, roundcube 1.4). The playbook
(``playbooks/tasks/poc_app_upgrade.yml``) reads what this module asks for, and this module decides:

* :func:`upgrades` - which sites of the plan have an application whose schema the POC upgrades, the files to read
  (the site's config for the table prefix, the package's version file) and the directory of schema update files;
* :func:`targets` - from those files: the table prefix, the target schema version, the command that reads the
  current schema version and the command that upgrades it;
* :func:`due` - the sites whose schema is older than the target (the only ones an upgrade runs for);
* :func:`results` - per site: package version before -> after, schema version before -> after, ``ran`` /
  ``not needed`` / ``failed``, and the record written on the POC when an upgrade ran.

An upgrade record (``/var/lib/s4-poc/app-upgrade-<site>.json``) is tied to the restore it upgraded (the POC's checksum
taken right after that restore, ``verified-<db>.json``): a rerun on the same restore reports the recorded upgrade
(the report does not change, nothing runs), a new restore (the source changed) brings the old schema back and the
upgrade runs again. Why a PHP CLI and not ``/wp-admin/upgrade.php`` over HTTP: the CLI does not depend on the web
server's routing or on an HTTP timeout, reports errors on stderr with an exit status, and runs exactly what
``upgrade.php`` runs (``WP_INSTALLING``: no plugin or theme code is loaded, so an add-on that breaks on the new PHP
cannot break the upgrade); the site's own config is selected by ``HTTP_HOST`` as Debian's ``wp-config.php`` does.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from s4 import names

RECORD_DIR = "/var/lib/s4-poc"
VERIFIED = RECORD_DIR + "/verified-{db}.json"
RECORD = RECORD_DIR + "/app-upgrade-{site}.json"
# s4_data_migrate's marker of a database's last restore (roles/s4_data_migrate, s4_data_migrate_state_dir): removed
# after a failed upgrade, so the next run restores a clean copy from the source and upgrades it again
RESTORE_MARKER = "/var/lib/s4-data-migrate/db/{db}.restored"
WEB_USER = "www-data"

WP_VERSION_FILE = "/usr/share/wordpress/wp-includes/version.php"
RC_CONFIG = "/etc/roundcube/config.inc.php"
RC_SQL = "/usr/share/roundcube/SQL"
RC_UPDATEDB = "/usr/share/roundcube/bin/updatedb.sh"
# roundcube's schema directory per database driver (rcube_db::$db_provider)
RC_PROVIDERS = {"postgresql": "postgres", "mariadb": "mysql", "mysql": "mysql"}

# app -> the package whose version the POC runs, how its schema version is named (for the report)
APPS: dict[str, dict[str, str]] = {
    "wordpress": {"package": "wordpress", "schema": "db_version"},
    "roundcube": {"package": "roundcube-core", "schema": "roundcube-version"},
}

STATUS_RAN = "ran"
STATUS_NOT_NEEDED = "not needed"
STATUS_FAILED = "failed"
STATUS_DUE = "due (check mode)"

# a table prefix (WordPress $table_prefix, roundcube db_prefix) read from the client's config: it becomes part of a
# table name in SQL, so letters, digits and '_' only (what both applications accept), at most 32 characters
_PREFIX = re.compile(r"^[A-Za-z0-9_]{0,32}$")
_WP_PREFIX = re.compile(r"""^\s*\$table_prefix\s*=\s*(['"])(.*?)\1\s*;""", re.M)
_WP_DB_VERSION = re.compile(r"^\s*\$wp_db_version\s*=\s*(\d+)\s*;", re.M)
_WP_VERSION = re.compile(r"""^\s*\$wp_version\s*=\s*(['"])([^'"]+)\1\s*;""", re.M)
_RC_PREFIX = re.compile(r"""^\s*\$(?:config|rcmail_config)\s*\[\s*(['"])db_prefix\1\s*\]\s*=\s*(['"])(.*?)\2\s*;""", re.M)
_RC_SQL_FILE = re.compile(r"^(\d+)\.sql$")


class AppError(ValueError):
    """An application's schema state cannot be read or judged; the message names the site and the cause."""


def _php_str(text: str) -> str:
    """A PHP single-quoted string literal of ``text`` (inside one, only ``\\`` and ``'`` are special)."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident(name: str, what: str, site: str) -> str:
    try:
        return names.check_db_name(name, what)
    except names.UnsafeName as exc:
        raise AppError(f"site {site}: {exc}") from None


def _site(name: str) -> str:
    try:
        return names.check_site_name(name)
    except names.UnsafeName as exc:
        raise AppError(str(exc)) from None


def _prefix(prefix: str, what: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise AppError(f"{what} {prefix!r} is refused: at most 32 letters, digits and underscores")
    return prefix


def upgrades(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sites of ``plan`` whose packaged application's database schema the POC upgrades."""
    php = str(((plan.get("versions") or {}).get("php") or {}).get("version") or "")
    out: list[dict[str, Any]] = []
    for s in plan.get("sites") or []:
        app = s.get("app") or ""
        db = s.get("db")
        if app not in APPS or not s.get("packaged") or not db:
            continue
        if not php:
            raise AppError(f"site {s['name']}: the plan has no PHP version to run the {app} schema upgrade with")
        engine = db["engine"]
        family = "postgresql" if engine == "postgresql" else "mariadb"
        _ident(db["name"], "database", s["name"])
        entry: dict[str, Any] = {
            "site": s["name"],
            "app": app,
            "domain": s["domain"],
            "package": APPS[app]["package"],
            "schema": APPS[app]["schema"],
            "database": db["name"],
            "engine": engine,
            "family": family,
            "php": php,
            "config": s.get("config"),
            # the site's own pool user on the POC (s4.poc.plan.pool_user); www-data for plans made before it
            "user": s.get("pool_user") or WEB_USER,
            "record": RECORD.format(site=_site(s["name"])),
            "verified": VERIFIED.format(db=db["name"]),
            "restore_marker": RESTORE_MARKER.format(db=db["name"]),
        }
        if app == "wordpress":
            if not s.get("config"):
                raise AppError(f"site {s['name']}: packaged WordPress without a config file in the plan")
            entry["read"] = [s["config"], WP_VERSION_FILE]
            entry["list_dir"] = None
        else:
            if engine not in RC_PROVIDERS:
                raise AppError(f"site {s['name']}: roundcube on {engine!r} has no schema update files")
            entry["read"] = [RC_CONFIG]
            entry["list_dir"] = f"{RC_SQL}/{RC_PROVIDERS[engine]}"
        out.append(entry)
    return out


def read_paths(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every file :func:`targets` needs, once."""
    out: list[str] = []
    for e in entries:
        for p in e["read"]:
            if p not in out:
                out.append(p)
    return out


def list_dirs(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for e in entries:
        if e.get("list_dir") and e["list_dir"] not in out:
            out.append(e["list_dir"])
    return out


def wp_prefix(config: str) -> str:
    """``$table_prefix`` of a WordPress config (the last assignment wins, as in PHP); Debian's default ``wp_``."""
    found = _WP_PREFIX.findall(config)
    return _prefix(found[-1][1] if found else "wp_", "table prefix")


def wp_db_version(version_php: str) -> int:
    m = _WP_DB_VERSION.search(version_php)
    if not m:
        raise AppError(f"no $wp_db_version in {WP_VERSION_FILE}")
    return int(m.group(1))


def wp_version(version_php: str) -> str | None:
    m = _WP_VERSION.search(version_php)
    return m.group(2) if m else None


def rc_prefix(config: str) -> str:
    found = _RC_PREFIX.findall(config)
    return _prefix(found[-1][2] if found else "", "db_prefix")


def rc_target(names: Iterable[str]) -> int:
    """The newest schema version among roundcube's update files (``<version>.sql``), as ``updatedb.sh`` applies them."""
    versions = [int(m.group(1)) for n in names if (m := _RC_SQL_FILE.match(n.rsplit("/", 1)[-1]))]
    if not versions:
        raise AppError("no <version>.sql schema update file")
    return max(versions)


def _mysql(sql: str) -> list[str]:
    return ["mysql", "--batch", "--skip-column-names", "--execute", sql]


def _psql(db: str, sql: str) -> list[str]:
    # --dbname with a conninfo string naming only the database: a name can never add connection parameters
    return ["runuser", "-u", "postgres", "--", "psql", "-XAt", "-v", "ON_ERROR_STOP=1",
            "--dbname=" + names.pg_conninfo_dbname(db), "-c", sql]


def _table(prefix: str, table: str) -> str:
    """A table name from a checked prefix; quoted by the callers with :mod:`s4.names` (identifier quoting)."""
    return _prefix(prefix, "table prefix") + table


def query_command(entry: Mapping[str, Any], prefix: str) -> list[str]:
    """The command printing the site's current schema version (nothing when unset).

    The database name and the table prefix come from the client's config and the CMDB: both are checked
    (:func:`s4.names.check_db_name`, :data:`_PREFIX`) and quoted as identifiers (backticks / double quotes
    doubled), and the command is an argv list (no shell)."""
    db = _ident(entry["database"], "database", entry.get("site", "?"))
    if entry["app"] == "wordpress":
        return _mysql(f"SELECT option_value FROM {names.sql_ident_mariadb(db)}."
                      f"{names.sql_ident_mariadb(_table(prefix, 'options'))} WHERE option_name = 'db_version'")
    if entry["family"] == "postgresql":
        return _psql(db, f"SELECT value FROM {names.sql_ident_postgres(_table(prefix, 'system'))} "
                         "WHERE name = 'roundcube-version'")
    return _mysql(f"SELECT value FROM {names.sql_ident_mariadb(db)}.{names.sql_ident_mariadb(_table(prefix, 'system'))} "
                  "WHERE name = 'roundcube-version'")


def upgrade_command(entry: Mapping[str, Any]) -> list[str]:
    """The upgrade, as the site's own pool user with the target PHP (files it creates belong to the site)."""
    php = f"php{entry['php']}"
    if not re.fullmatch(r"[0-9]+\.[0-9]+", str(entry["php"])):
        raise AppError(f"site {entry['site']}: PHP version {entry['php']!r} is not <major>.<minor>")
    user = str(entry.get("user") or WEB_USER)
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
        raise AppError(f"site {entry['site']}: user {user!r} is not a system user name")
    if entry["app"] == "wordpress":
        code = (
            f"$_SERVER['HTTP_HOST'] = {_php_str(entry['domain'])}; $_SERVER['REQUEST_METHOD'] = 'GET'; "
            "define('WP_INSTALLING', true); require '/usr/share/wordpress/wp-load.php'; "
            "require_once ABSPATH . 'wp-admin/includes/upgrade.php'; wp_upgrade(); "
            "echo 'db_version ', get_option('db_version'), PHP_EOL;"
        )
        return ["runuser", "-u", user, "--", php, "-d", "display_errors=stderr", "-r", code]
    return ["runuser", "-u", user, "--", php, RC_UPDATEDB, "--package=roundcube", f"--dir={RC_SQL}"]


def slurped(results: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{path: text}`` of ``ansible.builtin.slurp`` loop results (``item`` = the path; missing files left out)."""
    out: dict[str, str] = {}
    for r in results:
        if "content" in r:
            out[str(r["item"])] = base64.b64decode(r["content"]).decode("utf-8", "replace")
    return out


def listed(results: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{directory: [file names]}`` of ``ansible.builtin.find`` loop results (``item`` = the directory); a directory
    that does not exist is left out."""
    out: dict[str, list[str]] = {}
    for r in results:
        if r.get("failed") or r.get("skipped_paths", {}).get(r.get("item")):
            continue
        out[str(r["item"])] = sorted(f["path"].rsplit("/", 1)[-1] for f in r.get("files") or [])
    return out


def targets(
    entries: Iterable[Mapping[str, Any]],
    files: Mapping[str, str],
    listings: Mapping[str, Iterable[str]],
) -> list[dict[str, Any]]:
    """Each entry with its table prefix, target schema version and the query/upgrade commands."""
    out: list[dict[str, Any]] = []
    for e in entries:
        e2 = dict(e)
        try:
            if e["app"] == "wordpress":
                if e["config"] not in files:
                    raise AppError(f"config {e['config']} not found on the POC")
                if WP_VERSION_FILE not in files:
                    raise AppError(f"{WP_VERSION_FILE} not found: is the wordpress package installed?")
                prefix = wp_prefix(files[e["config"]])
                e2["target"] = wp_db_version(files[WP_VERSION_FILE])
                e2["package_upstream"] = wp_version(files[WP_VERSION_FILE])
            else:
                prefix = rc_prefix(files.get(RC_CONFIG, ""))
                if e["list_dir"] not in listings:
                    raise AppError(f"{e['list_dir']} not found: is the roundcube package installed?")
                e2["target"] = rc_target(listings[e["list_dir"]])
        except AppError as exc:
            raise AppError(f"site {e['site']} ({e['app']}): {exc}") from None
        e2["prefix"] = prefix
        e2["query"] = query_command(e, prefix)
        e2["upgrade"] = upgrade_command(e)
        out.append(e2)
    return out


def parse_version(entry: Mapping[str, Any], result: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """``(schema version, error)`` from the query command's result (``rc``, ``stdout``, ``stderr``)."""
    if result.get("rc", 1) != 0:
        err = (result.get("stderr") or result.get("msg") or "failed").strip()
        return None, f"reading {entry['schema']} failed (rc {result.get('rc')}): {err[-500:]}"
    text = (result.get("stdout") or "").strip()
    if not text:
        return None, f"no {entry['schema']} in the database {entry['database']}"
    digits = re.sub(r"[^0-9]", "", text.splitlines()[0])  # roundcube reads its version the same way
    if not digits:
        return None, f"{entry['schema']} {text!r} is not a version number"
    return int(digits), None


def due(entries: Iterable[Mapping[str, Any]], before: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The entries whose current schema is readable and older than the target (each paired with its result)."""
    out = []
    for e, r in zip(entries, before, strict=True):
        v, err = parse_version(e, r)
        if err is None and v is not None and v < e["target"]:
            out.append(dict(e))
    return out


def _package_before(entry: Mapping[str, Any], source_facts: Mapping[str, Any] | None) -> str | None:
    facts = source_facts or {}
    for p in facts.get("packages") or []:
        if p.get("name") == entry["package"] and p.get("version"):
            return str(p["version"])
    for s in facts.get("sites") or []:
        if s.get("name") == entry["site"]:
            for a in s.get("apps") or []:
                if a.get("product") == entry["app"] and a.get("version"):
                    return str(a["version"])
    return None


def dpkg_versions(text: str) -> dict[str, str]:
    """``{package: version}`` of ``dpkg-query -W -f '${Package} ${Version}\\n'`` output."""
    out = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def _json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def results(
    entries: Iterable[Mapping[str, Any]],
    before: Iterable[Mapping[str, Any]],
    ran: Iterable[Mapping[str, Any]],
    after: Iterable[Mapping[str, Any]],
    records: Mapping[str, str],
    *,
    packages_after: Mapping[str, str] | None = None,
    source_facts: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Per site: what the upgrade found, did and left; ``record`` is set when an upgrade ran in this run.

    ``ran`` are the upgrade command's results (``item`` = the entry; skipped in check mode), ``records`` the
    contents of the POC's files (``{path: text}``: upgrade records and ``verified-<db>.json``)."""
    ran_by_site = {str(r["item"]["site"]): r for r in ran if isinstance(r.get("item"), Mapping)}
    packages_after = packages_after or {}
    out: list[dict[str, Any]] = []
    for e, rb, ra in zip(entries, before, after, strict=True):
        schema_before, err_before = parse_version(e, rb)
        schema_after, err_after = parse_version(e, ra)
        restored = (_json(records.get(e["verified"])) or {}).get("checksum")
        row: dict[str, Any] = {
            "site": e["site"],
            "app": e["app"],
            "database": e["database"],
            "package": e["package"],
            "package_before": _package_before(e, source_facts),
            "package_after": packages_after.get(e["package"]),
            "schema": e["schema"],
            "schema_target": e["target"],
            "schema_before": schema_before,
            "schema_after": schema_after,
            "status": STATUS_NOT_NEEDED,
            "detail": "",
            "record": None,
            "ran": False,
        }
        r = ran_by_site.get(e["site"])
        if err_before:
            row.update(status=STATUS_FAILED, detail=err_before)
        elif r is not None and r.get("skipped"):
            row.update(status=STATUS_DUE, detail=f"{e['schema']} {schema_before} older than {e['target']}")
        elif r is not None:
            row["ran"] = True
            out_text = ((r.get("stderr") or "") + "\n" + (r.get("stdout") or "")).strip()
            if r.get("rc", 1) != 0:
                row.update(status=STATUS_FAILED, detail=f"upgrade failed (rc {r.get('rc')}): {out_text[-1500:]}")
            elif err_after:
                row.update(status=STATUS_FAILED, detail=f"after the upgrade: {err_after}")
            elif schema_after != e["target"]:
                row.update(status=STATUS_FAILED,
                           detail=f"after the upgrade {e['schema']} is {schema_after}, not the target {e['target']}")
            else:
                row.update(status=STATUS_RAN, detail=f"{e['schema']} {schema_before} -> {schema_after}")
                row["record"] = {"site": e["site"], "app": e["app"], "database": e["database"],
                                 "restored_checksum": restored, "schema_before": schema_before,
                                 "schema_after": schema_after}
        elif schema_before is not None and schema_before > e["target"]:
            row.update(status=STATUS_FAILED,
                       detail=f"{e['schema']} {schema_before} is newer than the POC package's {e['target']}: the POC "
                              f"would run {e['package']} {row['package_after'] or ''} on a newer schema (a downgrade)")
        else:
            rec = _json(records.get(e["record"]))
            if rec and rec.get("restored_checksum") == restored and rec.get("schema_after") == schema_before:
                # upgraded by an earlier run on this same restore: report that upgrade, unchanged
                row.update(status=STATUS_RAN, schema_before=rec.get("schema_before"),
                           detail=f"{e['schema']} {rec.get('schema_before')} -> {schema_before}")
        out.append(row)
    return out


def failures(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per failed upgrade (site, app, cause)."""
    return [f"{r['site']} ({r['app']}): {r['detail']}" for r in rows if r.get("status") == STATUS_FAILED]


def restore_again(entries: Iterable[Mapping[str, Any]], rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Restore markers to remove: the databases of the failed upgrades whose schema an upgrade touched (a failed
    upgrade may leave it half done; the next run then restores the source's copy and upgrades that)."""
    failed = {r["site"] for r in rows if r.get("status") == STATUS_FAILED and r.get("ran")}
    return sorted({e["restore_marker"] for e in entries if e["site"] in failed})

