"""Opening the store: URL resolution, creation, migrations, dry (check) mode, file modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from statefix import facts

from s4.history import History
from s4.state import StateError, head_revision, open_store, resolve_url
from s4.state import schema as S
from s4.state.store import checkout_root, default_url, display_url

ROOT = Path(__file__).resolve().parents[3]


def test_url_resolution(tmp_path, monkeypatch):
    assert default_url() == f"sqlite:///{ROOT}/.cache/s4/state.sqlite"   # the checkout, not the cwd
    assert checkout_root() == ROOT
    monkeypatch.chdir(tmp_path)
    assert resolve_url(None) == default_url()
    assert resolve_url("x/state.sqlite") == f"sqlite:///{tmp_path}/x/state.sqlite"   # a path: a SQLite file
    monkeypatch.setenv("S4_STATE_URL", "postgresql://s4:pw@127.0.0.1:5432/s4")
    assert resolve_url(None) == "postgresql+psycopg://s4:pw@127.0.0.1:5432/s4"        # psycopg 3
    assert display_url(resolve_url(None)) == "postgresql+psycopg://s4:***@127.0.0.1:5432/s4"
    assert resolve_url("sqlite:////srv/s.sqlite") == "sqlite:////srv/s.sqlite"       # the argument wins
    for bad in ("mysql://root@db/s4", "http://example/x"):
        with pytest.raises(StateError, match="unsupported state store"):
            resolve_url(bad)


def test_unreachable_postgresql_is_a_clear_error_without_the_password():
    with pytest.raises(StateError) as exc:
        open_store("postgresql://s4:Secret-pw-123@127.0.0.1:1/s4")
    assert "cannot open the state store postgresql+psycopg://s4:***@127.0.0.1:1/s4" in str(exc.value)
    assert "Secret-pw-123" not in str(exc.value)


def test_create_migrate_and_private_modes(tmp_path):
    path = tmp_path / "sub" / "state.sqlite"
    assert open_store(path, create=False) is None and not path.exists()
    with open_store(path) as store:
        assert store.revision() == head_revision()
        History(store=store).record_run({"a": {"status": "ok", "facts": facts("a")}})
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for p in path.parent.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_migrations_match_the_schema_module(url):
    """The Alembic versions create exactly what s4/state/schema.py declares (a schema change needs a migration)."""
    with open_store(url) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), S.metadata)
    assert diff == []


def test_dry_mode_writes_nothing(tmp_path):
    missing = tmp_path / "none.sqlite"
    with History(missing, dry=True) as h:   # check mode on a store that does not exist yet: in memory
        assert h.record_run({"a": {"status": "ok", "facts": facts("a")}}).run_id == 1
    assert not missing.exists()
    path = tmp_path / "state.sqlite"
    with History(path) as h:
        h.record_run({"a": {"status": "ok", "facts": facts("a")}})
    with History(path, dry=True) as h:
        h.record_run({"a": {"status": "ok", "facts": facts("a", php="8.3.1")}})
        assert len(h.runs()) == 2   # seen inside the dry transaction ...
    with History(path) as h:
        assert len(h.runs()) == 1 and h.stats()["snapshots"] == 1   # ... and rolled back


def test_a_store_newer_than_the_code_is_refused(url):
    with open_store(url) as store, store.write() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StateError, match="cannot open the state store"):
        open_store(url)


def test_s4_state_cli_upgrade_and_info(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("S4_STATE_URL", None)
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    out = subprocess.run([sys.executable, "-m", "s4.cli", "state", "info", "--state-url", url], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "no state store yet" in out.stdout
    up = subprocess.run([sys.executable, "-m", "s4.cli", "state", "upgrade", "--state-url", url], env=env,
                        capture_output=True, text=True)
    assert up.returncode == 0 and f"schema empty -> {head_revision()}" in up.stdout
    again = subprocess.run([sys.executable, "-m", "s4.cli", "state", "upgrade", "--state-url", url], env=env,
                           capture_output=True, text=True)
    assert again.returncode == 0 and "->" not in again.stdout       # nothing left to do
    info = subprocess.run([sys.executable, "-m", "s4.cli", "state", "info", "--state-url", url], env=env,
                          capture_output=True, text=True)
    assert info.returncode == 0 and f"schema     {head_revision()}" in info.stdout and "poc_records    0" in info.stdout
