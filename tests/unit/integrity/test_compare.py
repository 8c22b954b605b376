"""s4.integrity.compare and the smartt.s4.integrity_compare filter."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.smartt.s4.plugins.filter.integrity_compare import integrity_compare
from ansible_collections.smartt.s4.plugins.module_utils import s4_manifest

from s4.integrity import compare as c


def entry(path, **kw):
    e = {"root": "/srv/www", "path": path, "type": "file", "size": 3, "mode": "0644", "uid": 33, "gid": 33,
         "owner": "www-data", "group": "www-data", "mtime_ns": 1_700_000_000_123_456_789, "nlink": 1, "sha256": "aa"}
    e.update(kw)
    return e


def manifest(entries):
    return {"header": {"s4_manifest": 1, "entries": len(entries)}, "entries": entries}


SRC = manifest([entry(".", type="dir", size=0, sha256=None), entry("a"), entry("b"), entry("gone"),
                entry("l", type="link", target="a", sha256=None)])


def test_identical_manifests_pass():
    r = c.compare_manifests(SRC, copy.deepcopy(SRC))
    assert r["passed"] is True and r["summary"]["changed"] == 0 and r["kind"] == "files"


def test_missing_extra_changed_with_attributes():
    tgt = copy.deepcopy(SRC)
    ents = {e["path"]: e for e in tgt["entries"]}
    del ents["gone"]
    ents["new"] = entry("new")
    ents["a"]["sha256"] = "bb"
    ents["b"].update(mode="0600", owner="root", mtime_ns=1_700_000_005_000_000_000)
    ents["l"]["target"] = "b"
    ents["."]["mtime_ns"] = 1  # directory mtimes are ignored by default
    r = c.compare_manifests(SRC, manifest(list(ents.values())))
    assert r["passed"] is False
    assert [m["path"] for m in r["missing"]] == ["gone"] and [x["path"] for x in r["extra"]] == ["new"]
    changed = {x["path"]: x["attributes"] for x in r["changed"]}
    assert changed == {"a": ["sha256"], "b": ["mode", "owner", "mtime"], "l": ["target"]}
    assert r["summary"]["changed_by_attribute"] == {"mode": 1, "mtime": 1, "owner": 1, "sha256": 1, "target": 1}


def test_mtime_precision_and_numeric_owner_fallback():
    tgt = copy.deepcopy(SRC)
    tgt["entries"][1]["mtime_ns"] += 500_000  # sub-second difference: tar/rsync keep whole seconds
    tgt["entries"][2].update(owner=None, uid=33)
    src = copy.deepcopy(SRC)
    src["entries"][2].update(owner=None)
    assert c.compare_manifests(src, tgt)["passed"] is True
    assert c.compare_manifests(src, tgt, mtime_precision=1e-9)["changed"][0]["attributes"] == ["mtime"]


def test_root_map_and_unverified():
    tgt = copy.deepcopy(SRC)
    for e in tgt["entries"]:
        e["root"] = "/var/www"
    tgt["entries"][1].update(sha256=None, error="EACCES: Permission denied")
    r = c.compare_manifests(SRC, tgt, root_map={"/srv/www": "/var/www"})
    assert r["summary"]["unverified"] == 1 and r["unverified"][0]["target_error"].startswith("EACCES")
    assert r["passed"] is False and r["summary"]["missing"] == 0


def test_bad_inputs():
    with pytest.raises(c.CompareError, match="unknown attribute"):
        c.compare_manifests(SRC, SRC, ignore=["colour"])
    with pytest.raises(c.CompareError, match="cannot read manifest"):
        c.compare_manifests("/nonexistent/m.gz", SRC)
    with pytest.raises(c.CompareError, match="not an s4 manifest"):
        c.load_manifest(b'{"x": 1}\n')
    with pytest.raises(c.CompareError, match="truncated"):
        c.load_manifest({"header": {}, "entries": []} and b'{"s4_manifest": 1, "entries": 3}\n{}\n')


def test_limit_truncates_lists_not_counts():
    tgt = manifest([])
    r = c.compare_manifests(SRC, tgt, limit=2)
    assert r["summary"]["missing"] == 5 and len(r["missing"]) == 2 and r["truncated"] is True


def dbres(tables, method="pg-copy-sha256-v1", version="13.23"):
    return {"engine": "postgresql", "method": method, "server_version": version,
            "databases": [{"name": "app", "tables": [dict(t, method=method) for t in tables]}]}


T = [{"schema": "public", "name": "t1", "rows": 3, "checksum": "x", "no_primary_key": False, "transactional": True},
     {"schema": "public", "name": "t2", "rows": 5, "checksum": "y", "no_primary_key": True, "transactional": True}]


def test_databases_pass_and_flags():
    r = c.compare_databases(dbres(T), dbres(T, version="17.12"))
    assert r["passed"] is True and r["summary"]["matched"] == 2 and r["no_primary_key"] == ["app/public.t2"]
    assert r["summary"]["source_version"] == "13.23" and r["summary"]["target_version"] == "17.12"


def test_databases_mismatch_missing_extra():
    tgt = [dict(T[0], checksum="z"), {"schema": "public", "name": "t3", "rows": 0, "checksum": "e"}]
    r = c.compare_databases(dbres(T), dbres(tgt))
    assert r["passed"] is False
    assert r["mismatched"] == [{"database": "app", "schema": "public", "table": "t1", "attributes": ["checksum"],
                                "source": {"checksum": "x"}, "target": {"checksum": "z"}}]
    assert [x["table"] for x in r["missing"]] == ["t2"] and [x["table"] for x in r["extra"]] == ["t3"]


def test_databases_map_and_method_guard():
    tgt = dbres(T)
    tgt["databases"][0]["name"] = "app_poc"
    assert c.compare_databases(dbres(T), tgt, database_map={"app": "app_poc"})["passed"] is True
    with pytest.raises(c.CompareError, match="methods differ"):
        c.compare_databases(dbres(T), dbres(T, method="mariadb-ordered-sha256-v1"))


def test_filter_dispatch_and_errors(tmp_path):
    assert integrity_compare(dbres(T), dbres(T))["kind"] == "databases"
    src = tmp_path / "s.gz"
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f").write_bytes(b"abc")
    s4_manifest.write(s4_manifest.build([str(tmp_path / "t")], workers=1), str(src))
    r = integrity_compare(str(src), str(src), ignore=["mtime"])
    assert r["passed"] is True and r["summary"]["source_entries"] == 2
    with pytest.raises(AnsibleFilterError, match="target must be a smartt.s4.db_checksum result"):
        integrity_compare(dbres(T), str(src))
    with pytest.raises(AnsibleFilterError, match="database_map applies"):
        integrity_compare(str(src), str(src), database_map={"a": "b"})


def test_cli_exit_codes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(dbres(T)))
    b.write_text(json.dumps(dbres([T[0]])))
    cmd = [sys.executable, "-m", "s4.cli", "integrity", "compare"]
    ok = subprocess.run(cmd + [str(a), str(a)], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["passed"] is True
    bad = subprocess.run(cmd + [str(a), str(b)], capture_output=True, text=True)
    assert bad.returncode == 1 and "FAIL" in bad.stderr
    err = subprocess.run(cmd + [str(a), str(tmp_path / "none.json")], capture_output=True, text=True)
    assert err.returncode == 2 and "cannot read" in err.stderr
