"""data_manifest and db_checksum modules driven through main() with patch_module_args."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.smartt.s4.plugins.module_utils import s4_manifest
from ansible_collections.smartt.s4.plugins.modules import data_manifest, db_checksum

PASSWORD = "Sup3r-Secret!pw"


def run(module, args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def tree(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    (root / "a").mkdir(parents=True)
    (root / "a" / "index.php").write_bytes(b"<?php echo 1;")
    (root / "b c").write_bytes(b"x" * 5000)
    return root


def test_data_manifest_writes_once_then_unchanged(tmp_path, capsys):
    root = tree(tmp_path)
    dest = tmp_path / "m.jsonl.gz"
    out = run(data_manifest, {"roots": [str(root)], "dest": str(dest)}, capsys)
    assert out["changed"] is True and out["manifest"] == str(dest)
    assert out["counts"] == {"dir": 2, "file": 2} and out["bytes"] == 5013 and out["error_count"] == 0
    assert s4_manifest.load(str(dest))["header"]["tree_sha256"] == out["tree_sha256"]
    again = run(data_manifest, {"roots": [str(root)], "dest": str(dest)}, capsys)
    assert again["changed"] is False and again["manifest_sha256"] == out["manifest_sha256"]


def test_data_manifest_check_mode_writes_nothing(tmp_path, capsys):
    root = tree(tmp_path)
    dest = tmp_path / "m.jsonl.gz"
    out = run(data_manifest, {"roots": [str(root)], "dest": str(dest), "_ansible_check_mode": True,
                              "return_entries": True}, capsys)
    assert out["changed"] is True and not dest.exists()
    assert {e["path"] for e in out["entries"]} == {".", "a", "a/index.php", "b%20c"}


def test_data_manifest_dest_inside_root_is_skipped(tmp_path, capsys):
    root = tree(tmp_path)
    dest = root / "manifest.jsonl.gz"
    run(data_manifest, {"roots": [str(root)], "dest": str(dest)}, capsys)
    out = run(data_manifest, {"roots": [str(root)], "dest": str(dest)}, capsys)
    assert out["changed"] is False and out["entries_count"] == 4


def test_data_manifest_incremental(tmp_path, capsys):
    root = tree(tmp_path)
    first = tmp_path / "1.jsonl.gz"
    run(data_manifest, {"roots": [str(root)], "dest": str(first)}, capsys)
    out = run(data_manifest, {"roots": [str(root)], "dest": str(tmp_path / "2.jsonl.gz"), "previous": str(first)},
              capsys)
    assert out["reused"] == 2 and out["hashed_bytes"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"roots": ["/nonexistent/root"]}, "root '/nonexistent/root' cannot be read: ENOENT"),
        ({"roots": ["/"], "dest": "/nonexistent/dir/m.gz"}, "directory '/nonexistent/dir' does not exist"),
        ({"roots": ["/"], "workers": -1}, "workers must be 0"),
        ({"roots": ["/"], "previous": "/nonexistent/prev.gz"}, "cannot read manifest"),
    ],
)
def test_data_manifest_bad_input(args, message, capsys):
    out = run(data_manifest, args, capsys)
    assert out["failed"] is True and message in out["msg"]


def test_data_manifest_fail_on_errors(tmp_path, capsys, monkeypatch):
    root = tree(tmp_path)
    real = os.open

    def deny(path, flags, *a, **kw):
        if os.fsencode(path).endswith(b"index.php"):
            raise PermissionError(13, "Permission denied")
        return real(path, flags, *a, **kw)

    monkeypatch.setattr(s4_manifest.os, "open", deny)
    args = {"roots": [str(root)], "dest": "", "workers": 1}
    out = run(data_manifest, args, capsys)
    assert out["error_count"] == 1 and out["errors"][0]["path"] == "a/index.php" and not out.get("failed")
    out = run(data_manifest, dict(args, fail_on_errors=True), capsys)
    assert out["failed"] is True and "1 entries could not be read" in out["msg"]


def fake_client(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fakeclient"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize("engine", ["mariadb", "postgresql"])
def test_db_checksum_unreachable_names_host_engine_db_without_password(engine, tmp_path, capsys):
    log = tmp_path / "argv"
    client = fake_client(tmp_path, f'echo "$@" > {log}\n'
                         f'echo "connection refused (password was {PASSWORD})" >&2\nexit 2\n')
    out = run(db_checksum, {"engine": engine, "login_host": "db.example.test", "login_user": "u",
                            "login_password": PASSWORD, "databases": ["shop"], "client": client}, capsys)
    assert out["failed"] is True
    assert engine in out["msg"] and "db.example.test" in out["msg"]
    assert "'shop'" in out["msg"]
    assert PASSWORD not in json.dumps(out)
    assert PASSWORD not in log.read_text()  # never on the command line


def test_db_checksum_password_via_env_or_private_file(tmp_path, capsys):
    seen = tmp_path / "seen"
    client = fake_client(tmp_path, f'echo "PGPASSWORD=$PGPASSWORD" > {seen}\n'
                         f'for a in "$@"; do case "$a" in --defaults-extra-file=*) f="${{a#*=}}";'
                         f' ls -l "$f" | cut -c1-10 >> {seen}; cat "$f" >> {seen};; esac; done\nexit 1\n')
    run(db_checksum, {"engine": "postgresql", "login_password": PASSWORD, "client": client}, capsys)
    assert seen.read_text().startswith(f"PGPASSWORD={PASSWORD}")
    run(db_checksum, {"engine": "mariadb", "login_user": "u", "login_password": PASSWORD, "client": client}, capsys)
    text = seen.read_text()
    assert text.startswith("PGPASSWORD=\n-rw-------") and f'password="{PASSWORD}"' in text


def test_db_checksum_rejects_method_for_postgresql(capsys):
    out = run(db_checksum, {"engine": "postgresql", "mariadb_method": "md5sum"}, capsys)
    assert out["failed"] is True and "mariadb_method applies" in out["msg"]


@pytest.mark.parametrize("module", [data_manifest, db_checksum])
def test_module_docs_are_valid_yaml_and_match_the_spec(module):
    import yaml

    doc = yaml.safe_load(module.DOCUMENTATION)
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)
    assert set(doc["options"]) == set(module.module_args())
    assert doc["attributes"]["check_mode"]["support"] == "full"
    secret = [k for k, v in module.module_args().items() if v.get("no_log")]
    assert secret == (["login_password"] if module is db_checksum else [])
