"""Opening the state store: URL resolution, engines, transactions, migrations on open (docs/STATE.md).

One URL chooses the store: ``url`` argument > ``S4_STATE_URL`` > the default
``sqlite:///<checkout>/.cache/s4/state.sqlite`` (the only state written relative to the checkout). PostgreSQL:
``postgresql+psycopg://user@host/db`` (``postgresql://`` is accepted and means psycopg 3).

Opening migrates to the newest schema (Alembic, ``s4/state/migrations``) under a lock, so the first open by several
jobs at once is safe: SQLite takes the write lock (``BEGIN IMMEDIATE``) before Alembic reads the schema version,
PostgreSQL takes a transaction-level advisory lock. When an old ``history.sqlite`` / ``release_watch.sqlite``
lies next to a SQLite store (or is named explicitly), it is imported once in the same transaction.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool, StaticPool

from s4.filemodes import private_sqlite
from s4.state import schema

ENV = "S4_STATE_URL"
STATE_FILE = Path(".cache/s4/state.sqlite")
LEGACY_FILES = ("history.sqlite", "release_watch.sqlite")
BUSY_TIMEOUT_MS = 60_000
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x53345354  # "S4ST": advisory lock around migrations


class StateError(Exception):
    """The store cannot be opened or used (bad URL, unreachable server, schema newer than this code)."""


def checkout_root() -> Path:
    """The checkout the ``s4`` package runs from (``ansible.cfg`` next to ``s4/``), else the current directory
    (an installed package: AWX runs jobs in the project directory)."""
    here = Path(__file__).resolve().parents[2]
    if (here / "ansible.cfg").is_file() and (here / "s4").is_dir():
        return here
    return Path.cwd()


def default_url() -> str:
    return f"sqlite:///{checkout_root() / STATE_FILE}"


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The store URL from ``url`` (a URL, or a filesystem path meaning a SQLite file), ``S4_STATE_URL``, or the
    default. ``postgresql://`` becomes ``postgresql+psycopg://``. Raises :class:`StateError` on other schemes."""
    raw = str(url) if url not in (None, "") else (os.environ.get(ENV) or default_url())
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).expanduser().resolve()}"
    try:
        u = make_url(raw)
    except ArgumentError:
        raise StateError("state URL is not a URL (sqlite:///PATH or postgresql://...)") from None
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername not in ("sqlite", "sqlite+pysqlite"):
        raise StateError(f"unsupported state store {u.drivername!r}: sqlite:///PATH or postgresql://...")
    return u.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL with its password masked (for messages and reports)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid state URL>"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory SQLite)."""
    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _sqlite_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is None:  # in memory: one shared connection (a dry run, tests)
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        private_sqlite(path)  # 0600 file and companions in a 0700 directory: it maps software per host and client
        # NullPool: a connection per transaction, nothing kept open between a job's steps (short transactions)
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path is not None:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # a writer takes the write lock up front: a deferred transaction that upgrades from read to write can fail
        # with "database is locked" at once (SQLITE_BUSY without waiting); BEGIN IMMEDIATE waits busy_timeout
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("s4_write") else "BEGIN")

    return engine


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    try:
        return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 15,
                                                                     "application_name": "s4-toolkit"})
    except ModuleNotFoundError as exc:  # pragma: no cover - psycopg is a dependency
        raise StateError(f"PostgreSQL state store needs psycopg 3: {exc}") from None


class Store:
    """An open state store. Use :func:`open_store`; the domain APIs (``s4.history``, ``s4.releasewatch.store``,
    ``s4.state.poc``, ``s4.state.reports``) take one.

    ``dry=True`` (check mode): every change happens in one transaction that :meth:`close` rolls back.
    """

    def __init__(self, url: str, engine: Engine, *, dry: bool = False) -> None:
        self.url = url
        self.engine = engine
        self.dry = dry
        self._dry_conn: Connection | None = None
        if dry:
            self._dry_conn = engine.connect()
            self._dry_conn.begin()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One short write transaction (committed on success, rolled back on error)."""
        if self._dry_conn is not None:
            sp = self._dry_conn.begin_nested()
            try:
                yield self._dry_conn
            except BaseException:
                sp.rollback()
                raise
            sp.commit()
            return
        with self.engine.connect().execution_options(s4_write=True) as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent view; no write lock)."""
        if self._dry_conn is not None:
            yield self._dry_conn
            return
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        if self._dry_conn is not None:
            self._dry_conn.rollback()
            self._dry_conn.close()
            self._dry_conn = None
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def meta(self) -> dict[str, str]:
        with self.read() as conn:
            return {r.key: r.value for r in conn.execute(select(schema.meta))}

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(store: Store, *, legacy_dir: Path | None = None, legacy: dict[str, Path] | None = None) -> list[str]:
    """Migrate ``store`` to the newest schema and import legacy SQLite files; safe when several processes do it at
    once (one waits for the other's lock, then finds nothing to do). Returns what was done, for messages."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from s4.state import legacy as _legacy

    head = head_revision()
    files = dict(legacy or {})
    if legacy_dir is not None:
        for name in LEGACY_FILES:
            p = legacy_dir / name
            if p.is_file() and name not in files:
                files[name] = p
    with store.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        imported = _legacy.already_imported(conn, files) if current == head else None
        conn.rollback()
    if current == head and imported is not None and set(imported) >= set(files):
        return []
    done: list[str] = []
    with store.engine.connect().execution_options(s4_write=True) as conn, conn.begin():
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        if before != head:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            done.append(f"schema {before or 'empty'} -> {head}")
        done.extend(_legacy.import_files(conn, files))
    return done


def open_store(url: str | os.PathLike[str] | None = None, *, dry: bool = False, create: bool = True,
               migrate: bool = True) -> Store | None:
    """Open (and by default create and migrate) the store at ``url`` (see :func:`resolve_url`).

    ``create=False``: a SQLite file that does not exist yet gives ``None`` (readers: nothing recorded yet).
    ``dry=True``: check mode; a missing SQLite file is replaced by an empty in-memory store, nothing is written.
    Raises :class:`StateError` when the store cannot be opened or is newer than this code.
    """
    resolved = resolve_url(url)
    path = sqlite_path(resolved)
    if path is not None and not path.exists():
        if not create:
            return None
        if dry:
            resolved = "sqlite://"
            path = None
    try:
        engine = _engine(resolved)
        store = Store(resolved, engine)
        if migrate:
            upgrade(store, legacy_dir=path.parent if path is not None and path.name == STATE_FILE.name else None)
        if dry:  # same engine (an in-memory store lives in its one connection)
            store = Store(resolved, engine, dry=True)
    except StateError:
        raise
    except Exception as exc:  # sqlalchemy.exc.*, alembic errors, OSError
        raise StateError(f"cannot open the state store {display_url(resolved)}: {_short(exc)}") from None
    return store


def _short(exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return msg[0][:300] if msg else type(exc).__name__


def inserted_id(result: Any) -> int:
    """The integer primary key of a single-row INSERT's result."""
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise StateError("the database returned no id for an inserted row")
    return int(key[0])


def dump_text(store: Store) -> bytes:
    """Every value the store holds as text, snapshots decompressed: what a secrets grep must search (the raw
    database file holds the snapshots zlib-compressed, where a plain grep sees nothing)."""
    import json
    import zlib

    out = []
    with store.read() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                values = []
                for v in row:
                    if isinstance(v, bytes | bytearray | memoryview):
                        v = zlib.decompress(bytes(v)).decode("utf-8", "replace")
                    values.append(v)
                out.append(json.dumps([table.name, *values], default=str, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode()
