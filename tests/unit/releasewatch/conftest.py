"""Fixtures of the release-watch tests (data in rwfixtures.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rwfixtures import AS_OF, CMDB_YAML, FACTS, catalog_products, write_catalog

from s4 import cmdb as cmdb_mod
from s4.history import History


@pytest.fixture()
def cmdb():
    return cmdb_mod.loads(CMDB_YAML, "test-cmdb.yml")


@pytest.fixture()
def hostvars(cmdb) -> list[dict[str, Any]]:
    return [dict(cmdb.hostvars(n), inventory_hostname=n) for n in sorted(cmdb.in_scope)]


@pytest.fixture()
def history_db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite"
    with History(path) as h:
        h.record_run({n: {"status": "ok", "facts": f} for n, f in FACTS.items()},
                     started_at=f"{AS_OF.isoformat()}T08:00:00Z")
    return path


@pytest.fixture()
def catalog_dir(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "catalog", catalog_products())


@pytest.fixture(scope="session")
def engine():
    from s4.lifecycle import Engine

    return Engine.load_default()
