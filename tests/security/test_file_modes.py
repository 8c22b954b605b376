"""Issue #13 finding 12: what the controller writes maps EOL software per host and client (history DB, reports,
release-watch store and outbox, fact cache): another local user must not be able to read it, whatever the umask.

Each test runs the writer under the common umask 022 (what made these files 0644 before) and asserts 0600 files
in 0700 directories, so a local user other than the operator gets EACCES.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "releasewatch"))
from rwfixtures import AS_OF, CMDB_YAML, FACTS, catalog_products, write_catalog  # noqa: E402

from s4 import cmdb as cmdb_mod  # noqa: E402
from s4 import filemodes  # noqa: E402
from s4.history import History  # noqa: E402


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def assert_private_tree(root: Path) -> None:
    """Every directory under root (root included) 0700, every file 0600: nothing for group or other."""
    assert mode(root) == 0o700, f"{root} is {oct(mode(root))}"
    for p in root.rglob("*"):
        assert mode(p) & 0o077 == 0, f"{p} is {oct(mode(p))}: readable by other local users"
        assert mode(p) == (0o700 if p.is_dir() else 0o600), f"{p} is {oct(mode(p))}"


def _record(db: Path) -> None:
    with History(db) as h:
        h.record_run({n: {"status": "ok", "facts": f} for n, f in FACTS.items()},
                     started_at=f"{AS_OF.isoformat()}T08:00:00Z")


def test_history_db_of_eol_software_per_host_not_readable_by_other_users(tmp_path: Path) -> None:
    db = tmp_path / ".cache" / "s4" / "history.sqlite"
    _record(db)
    assert_private_tree(tmp_path / ".cache")
    with History(db) as h:  # companions SQLite creates while open (WAL) carry the file's mode
        h.record_run({n: {"status": "ok", "facts": f} for n, f in FACTS.items()})
        for companion in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            if companion.exists():
                assert mode(companion) == 0o600


def test_world_readable_history_db_of_an_older_run_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    _record(db)
    os.chmod(db, 0o644)
    _record(db)
    assert mode(db) == 0o600


def test_eol_report_files_not_readable_by_other_users(tmp_path: Path) -> None:
    from s4.report import build_report, write_report

    db = tmp_path / "history.sqlite"
    _record(db)
    cmdb = cmdb_mod.loads(CMDB_YAML, "test-cmdb.yml")
    hostvars = [dict(cmdb.hostvars(n), inventory_hostname=n, s4_software=FACTS.get(n)) for n in sorted(cmdb.in_scope)]
    report = build_report(hostvars, as_of=AS_OF)
    out = tmp_path / "reports" / "eol" / AS_OF.isoformat()
    written = write_report(report, out)
    assert "findings.csv" in written["files"] and any(f.startswith("clients/") for f in written["files"])
    assert_private_tree(tmp_path / "reports")
    # a report directory of an older run (0755, 0644 files) is tightened by the next run
    os.chmod(out, 0o755)
    os.chmod(out / "findings.json", 0o644)
    write_report(report, out)
    assert mode(out) == 0o700 and mode(out / "findings.json") == 0o600


def test_release_watch_outbox_eml_and_store_not_readable_by_other_users(tmp_path: Path) -> None:
    from s4.lifecycle import Engine
    from s4.releasewatch.site import SiteConfig
    from s4.releasewatch.watch import Options, run

    db = tmp_path / "history.sqlite"
    _record(db)
    cmdb = cmdb_mod.loads(CMDB_YAML, "test-cmdb.yml")
    hostvars = [dict(cmdb.hostvars(n), inventory_hostname=n) for n in sorted(cmdb.in_scope)]
    opts = Options(as_of=AS_OF, out_dir=tmp_path / "reports" / "release-watch",
                   store_path=tmp_path / "state" / "release_watch.sqlite", history_db=db,
                   catalog_dir=write_catalog(tmp_path / "catalog", catalog_products()),
                   site=SiteConfig(base_url="http://notices.test/"))
    r = run(hostvars, opts, engine=Engine.load_default())
    assert r["error"] is None and r["outbox"]["changed"]
    assert_private_tree(tmp_path / "reports")
    assert_private_tree(tmp_path / "state")


def test_fact_cache_of_a_gather_run_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The jsonfile fact cache is created by ansible with the umask's modes; the gather_history action (run by
    gather_software.yml after the facts) makes its directory 0700 and its files 0600."""
    from ansible import constants as C

    sys.path.insert(0, str(ROOT / ".collections"))
    from ansible_collections.smartt.s4.plugins.action import gather_history

    cache = tmp_path / "facts"
    cache.mkdir(mode=0o755)
    (cache / "mvps-acme-01").write_text('{"s4_software": {}}')
    os.chmod(cache / "mvps-acme-01", 0o644)
    monkeypatch.setattr(C, "CACHE_PLUGIN", "jsonfile")
    monkeypatch.setattr(C, "CACHE_PLUGIN_CONNECTION", str(cache))
    gather_history._private_fact_cache()
    assert mode(cache) == 0o700 and mode(cache / "mvps-acme-01") == 0o600


def test_private_dir_leaves_a_shared_parent_and_symlinks_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o1777)
    made = filemodes.private_dir(shared / "a" / "b")
    assert mode(shared) == 0o1777          # an existing parent is not ours to change
    assert mode(shared / "a") == 0o700 and mode(made) == 0o700
    target = tmp_path / "target"
    target.write_text("x")
    os.chmod(target, 0o644)
    (tmp_path / "link").symlink_to(target)
    filemodes.private_file(tmp_path / "link")
    assert mode(target) == 0o644           # a symlink is never followed by the chmod
