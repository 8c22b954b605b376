"""Issue #13 finding 4 (and 5 on the source side): the forced command of a POC's migration key on the source
(roles/s4_data_migrate/files/s4-migration-pull) allows only the rsync pull of the granted roots and dumps of the
granted databases. Each test is a command a compromised POC (root on the POC holds the key) sends."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

WRAPPER = Path(__file__).resolve().parents[2] / "roles" / "s4_data_migrate" / "files" / "s4-migration-pull"
FLAGS = "-lHogtpAXre.LsfxCIvu"  # what the role's rsync (--archive ... --no-devices --no-specials) sends


def _load() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("s4_migration_pull", str(WRAPPER))
    spec = importlib.util.spec_from_loader("s4_migration_pull", loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


pull = _load()


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Any]:
    """Two tenants' data; tenant acme's root holds a link to globex's directory and one to /etc."""
    acme = tmp_path / "srv" / "acme" / "site"
    globex = tmp_path / "srv" / "globex" / "secret"
    (acme / "uploads").mkdir(parents=True)
    globex.mkdir(parents=True)
    (globex / ".env").write_text("DB_PASSWORD=globex\n")
    (acme / "index.php").write_text("hi\n")
    (acme / "other").symlink_to(globex)
    (acme / "etc").symlink_to("/etc")
    allow = {"poc": "poc-acme-acme-blog", "roots": [str(acme)],
             "databases": [{"engine": "mariadb", "name": "acme_wp"}, {"engine": "postgresql", "name": "acme_pg"}]}
    return {"acme": str(acme), "globex": str(globex), "allow": allow}


def _refused(command: str, allow: dict[str, Any]) -> str:
    with pytest.raises(pull.Refused) as e:
        pull.decide(command, allow)
    return str(e.value)


def test_granted_rsync_pull_is_allowed_with_the_same_argv(tree: dict[str, Any]) -> None:
    cmd = f"rsync --server --sender {FLAGS} --bwlimit=100 --numeric-ids . {tree['acme']}"
    assert pull.decide(cmd, tree["allow"]) == ["rsync", "--server", "--sender", FLAGS, "--bwlimit=100",
                                               "--numeric-ids", ".", tree["acme"]]


def test_granted_dumps_map_to_fixed_commands(tree: dict[str, Any]) -> None:
    assert pull.decide("s4-dump mariadb acme_wp", tree["allow"])[-2:] == ["--databases", "acme_wp"]
    assert pull.decide("s4-dump postgresql acme_pg", tree["allow"]) == [
        "runuser", "-u", "postgres", "--", "pg_dump", "-Fc", "--dbname=dbname='acme_pg'"]


def test_rsync_pull_of_etc_shadow_is_refused(tree: dict[str, Any]) -> None:
    assert "outside the allowed roots" in _refused(f"rsync --server --sender {FLAGS} . /etc/shadow", tree["allow"])


def test_rsync_pull_through_link_to_other_tenants_dir_is_refused(tree: dict[str, Any]) -> None:
    msg = _refused(f"rsync --server --sender {FLAGS.replace('re', 'rRe')} . {tree['acme']}/other/.env", tree["allow"])
    assert "outside the allowed roots" in msg and tree["globex"] in msg
    msg = _refused(f"rsync --server --sender {FLAGS.replace('re', 'rRe')} . {tree['acme']}/other", tree["allow"])
    assert "outside the allowed roots" in msg


def test_rsync_pull_through_link_to_etc_is_refused(tree: dict[str, Any]) -> None:
    _refused(f"rsync --server --sender {FLAGS} . {tree['acme']}/etc/shadow", tree["allow"])


def test_rsync_pull_with_dotdot_or_glob_escaping_the_root_is_refused(tree: dict[str, Any]) -> None:
    for path in (f"{tree['acme']}/../../globex/secret", f"{tree['acme']}/*", f"{tree['acme']}/[o]ther",
                 "relative/path"):
        _refused(f"rsync --server --sender {FLAGS} . {path}", tree["allow"])


def test_rsync_receiver_writing_to_the_source_is_refused(tree: dict[str, Any]) -> None:
    assert "--sender" in _refused(f"rsync --server {FLAGS} . {tree['acme']}", tree["allow"])
    _refused(f"rsync --server {FLAGS} . /root/.ssh", tree["allow"])


@pytest.mark.parametrize("opt", ["--remove-source-files", "--copy-links", "-L", "--copy-unsafe-links",
                                 "-lHogtpAXsre.LsfxCIvu", "-lHogDtpAXre.LsfxCIvu", "--devices", "--files-from=-",
                                 "--rsync-path=sh", "--daemon", "-lHogtpAXre.Ls;id", "--bwlimit=1;id"])
def test_rsync_option_outside_the_allow_set_is_refused(tree: dict[str, Any], opt: str) -> None:
    _refused(f"rsync --server --sender {opt} . {tree['acme']}", tree["allow"])


def test_mysqldump_all_databases_is_refused(tree: dict[str, Any]) -> None:
    assert "not allowed" in _refused("mysqldump --all-databases", tree["allow"])
    _refused("s4-dump mariadb --all-databases", tree["allow"])


def test_dump_of_other_tenants_database_is_refused(tree: dict[str, Any]) -> None:
    assert "not granted" in _refused("s4-dump mariadb other_tenant_db", tree["allow"])
    # granted name under the other engine: not granted either
    assert "not granted" in _refused("s4-dump postgresql acme_wp", tree["allow"])


@pytest.mark.parametrize("name", ["acme_wp;id", "acme_wp`id`", "-r/tmp/x", "acme_wp extra", "a=b host=evil"])
def test_dump_with_injected_database_name_is_refused(tree: dict[str, Any], name: str) -> None:
    _refused(f"s4-dump mariadb {name}", tree["allow"])


@pytest.mark.parametrize("command", ["bash -c id", "id", "cat /etc/shadow", "sh", "", "   ", "rsync",
                                     "scp -f /etc/shadow", "s4-dump", "'unterminated"])
def test_shell_and_other_commands_are_refused(tree: dict[str, Any], command: str) -> None:
    _refused(command, tree["allow"])


def test_allow_file_writable_by_others_or_for_another_poc_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        # a non-root owner is refused as such (the grant must be root's)
        (tmp_path / "poc-a.json").write_text(json.dumps({"poc": "poc-a", "roots": ["/srv"]}))
        with pytest.raises(pull.Refused, match="root-owned"):
            pull.load_allow("poc-a", str(tmp_path))
        return
    f = tmp_path / "poc-a.json"
    f.write_text(json.dumps({"poc": "poc-b", "roots": ["/srv"]}))
    f.chmod(0o600)
    with pytest.raises(pull.Refused, match="not the grant of"):
        pull.load_allow("poc-a", str(tmp_path))
    f.write_text(json.dumps({"poc": "poc-a", "roots": ["/srv"]}))
    f.chmod(0o666)
    with pytest.raises(pull.Refused, match="root-owned"):
        pull.load_allow("poc-a", str(tmp_path))
    f.chmod(0o600)
    assert pull.load_allow("poc-a", str(tmp_path))["roots"] == ["/srv"]


def test_forced_command_without_valid_poc_name_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pull.syslog, "syslog", lambda *a: None)
    monkeypatch.setattr(pull.os, "execve", lambda *a: pytest.fail("exec'd"))
    assert pull.main(["s4-migration-pull", "../../tmp/x"], {"SSH_ORIGINAL_COMMAND": "s4-dump mariadb a"}) == 1
    assert pull.main(["s4-migration-pull"], {"SSH_ORIGINAL_COMMAND": "id"}) == 1
