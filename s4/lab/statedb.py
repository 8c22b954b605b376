"""The lab's throw-away PostgreSQL cluster for the state store's tests (docs/STATE.md, docs/LAB.md).

``scripts/lab up`` starts it, ``scripts/lab down`` stops it: Debian's ``postgresql`` binaries, data under
``.lab/statedb/data`` (owned by the ``postgres`` system user when the lab runs as root: PostgreSQL refuses to run as
root), listening on 127.0.0.1 only (port :data:`PORT`) and on a unix socket in ``.lab/statedb/run`` (0700). The
superuser ``s4`` has a random password kept in ``.lab/statedb/password`` (0600, never printed). Tests get a URL from
:func:`url` (``tests/integration/conftest.py`` fixture ``state_pg_url`` creates one fresh database per test).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from s4.filemodes import write_private
from s4.lab import topology

STATE = topology.STATE_DIR / "statedb"
DATA = STATE / "data"
RUN = STATE / "run"
PASSWORD = STATE / "password"
LOG = STATE / "postgresql.log"
HOST = "127.0.0.1"
PORT = 55432
USER = "s4"
DATABASE = "s4"
SYSTEM_USER = "postgres"


class StateDbError(RuntimeError):
    """The cluster cannot be set up or started; the message says why."""


def _bindir() -> Path:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
                   if p.parent.parent.name.isdigit() else 0)
    if roots:
        return roots[-1].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise StateDbError("PostgreSQL is not installed: apt-get install postgresql (scripts/apt-packages.txt)")


def _as_db_user() -> list[str]:
    """The prefix that runs a server command as the postgres system user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise StateDbError(f"no '{SYSTEM_USER}' system user (Debian's postgresql package creates it)") from None
    return ["runuser", "-u", SYSTEM_USER, "--"]


def _chown_db_user(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam(SYSTEM_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _run(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([*_as_db_user(), *args], capture_output=True, text=True, cwd=STATE, timeout=120)
    if check and res.returncode != 0:
        raise StateDbError(f"{Path(args[0]).name} failed: {(res.stderr or res.stdout).strip()[-600:]}")
    return res


def password() -> str:
    try:
        return PASSWORD.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise StateDbError("the lab's PostgreSQL is not set up: scripts/lab up") from None


def url(database: str = DATABASE) -> str:
    """SQLAlchemy URL of ``database`` on the lab cluster (holds the password: never print it)."""
    return f"postgresql+psycopg://{USER}:{password()}@{HOST}:{PORT}/{database}"


def _initdb() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    os.chmod(STATE, 0o755)   # the postgres user traverses it to its data dir; the password file is 0600 root
    if not PASSWORD.exists():
        write_private(PASSWORD, secrets.token_urlsafe(24) + "\n")
    if (DATA / "PG_VERSION").is_file():
        return
    if DATA.exists():
        shutil.rmtree(DATA)   # a half-made cluster from an interrupted up
    DATA.mkdir(mode=0o700)
    _chown_db_user(DATA)
    pwfile = STATE / ".initdb-pw"
    write_private(pwfile, password() + "\n")
    _chown_db_user(pwfile)   # initdb (as postgres) reads it; removed right after
    try:
        _run([str(_bindir() / "initdb"), "-D", str(DATA), "-U", USER, f"--pwfile={pwfile}",
              "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"])
    finally:
        pwfile.unlink(missing_ok=True)
    with (DATA / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:   # loopback and our socket only
        fh.write(f"listen_addresses = '{HOST}'\nport = {PORT}\nunix_socket_directories = '{RUN}'\n"
                 "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n")


def running() -> bool:
    if not (DATA / "PG_VERSION").is_file():
        return False
    return _run([str(_bindir() / "pg_ctl"), "-D", str(DATA), "status"], check=False).returncode == 0


def _port_free() -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, PORT)) != 0


def up() -> str:
    """Start the cluster (initialise it on first use) and create the ``s4`` database; returns a status line."""
    _initdb()
    if not running():
        if not _port_free():
            raise StateDbError(f"{HOST}:{PORT} is in use by another program: the lab's PostgreSQL cannot start")
        RUN.mkdir(mode=0o700, exist_ok=True)
        _chown_db_user(RUN)
        if not LOG.exists():
            LOG.touch(mode=0o600)
        _chown_db_user(LOG)
        _run([str(_bindir() / "pg_ctl"), "-D", str(DATA), "-l", str(LOG), "-w", "-t", "60", "start"])
    _wait()
    create_database(DATABASE)
    return f"PostgreSQL for the state store up on {HOST}:{PORT} (database {DATABASE}; URL: s4.lab.statedb.url())"


def _wait(timeout: float = 30.0) -> None:
    import psycopg

    end = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(host=HOST, port=PORT, user=USER, password=password(), dbname="postgres",
                                 connect_timeout=5):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > end:
                raise StateDbError(f"the lab's PostgreSQL does not answer: {str(exc).splitlines()[0]}") from None
            time.sleep(0.5)


def create_database(name: str) -> None:
    """Create database ``name`` when missing (names: [a-z0-9_], tests make one per test)."""
    import psycopg
    from psycopg import sql

    if not name.replace("_", "").isalnum() or not name.islower():
        raise StateDbError(f"database name {name!r} is not [a-z0-9_]")
    with psycopg.connect(host=HOST, port=PORT, user=USER, password=password(), dbname="postgres",
                         autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=HOST, port=PORT, user=USER, password=password(), dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def down() -> str:
    if not running():
        return "PostgreSQL for the state store: not running"
    _run([str(_bindir() / "pg_ctl"), "-D", str(DATA), "-m", "fast", "-w", "stop"])
    return "PostgreSQL for the state store stopped (data kept under .lab/statedb)"


def status() -> str:
    with contextlib.suppress(StateDbError):
        if running():
            return f"PostgreSQL for the state store: running on {HOST}:{PORT}"
    return "PostgreSQL for the state store: not running (scripts/lab up)"

