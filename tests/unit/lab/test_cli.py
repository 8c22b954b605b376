"""scripts/lab: bad input gets a clear error; state decisions of `up` (keep or recreate)."""

from __future__ import annotations

import subprocess

import pytest

from s4.lab import cli, control, topology

SCRIPT = topology.ROOT / "scripts" / "lab"


@pytest.mark.parametrize("argv", [["ssh", "nope-01"], ["status", "db-01", "nope-01"]])
def test_unknown_host(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown lab host 'nope-01'" in err and "mvps-acme-01" in err


def test_up_without_podman_names_the_bootstrap_step(tmp_path):
    # a PATH holding only bash/python essentials: no podman
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "dirname", "env"):
        real = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True, text=True).stdout.strip()
        (bindir / tool).symlink_to(real)
    res = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, env={"PATH": str(bindir)}, timeout=60)
    assert res.returncode == 1
    assert "podman is not installed" in res.stderr and "scripts/bootstrap" in res.stderr


def test_up_without_podman_in_process(monkeypatch, capsys):
    monkeypatch.setattr(control.shutil, "which", lambda name: None)
    assert cli.main(["up"]) == 1
    assert "run scripts/bootstrap (step 1" in capsys.readouterr().err


def test_pve_env_without_server(monkeypatch, capsys):
    monkeypatch.setattr(control, "_pve", lambda: None)
    assert cli.main(["pve-env"]) == 1
    assert "not part of this checkout" in capsys.readouterr().err


def _info(image, keys, status="running"):
    return {"Config": {"Labels": {control.LABEL_IMAGE: image, control.LABEL_KEYS: keys}}, "State": {"Status": status}}


def test_container_is_current():
    assert control.container_is_current(_info("img:1", "k"), "img:1", "k")
    assert not control.container_is_current(None, "img:1", "k")
    assert not control.container_is_current(_info("img:0", "k"), "img:1", "k"), "older image -> recreate"
    assert not control.container_is_current(_info("img:1", "old"), "img:1", "k"), "other keys -> recreate"
    assert not control.container_is_current(_info("img:1", "k", "exited"), "img:1", "k"), "stopped -> recreate"
    assert not control.container_is_current(_info("img:1", "k", "created"), "img:1", "k"), "half-created -> recreate"


def test_failed_host_reports_journal(monkeypatch):
    monkeypatch.setattr(control, "inspect_container", lambda name: None)
    monkeypatch.setattr(control.keys, "fingerprint", lambda host: "fp")
    monkeypatch.setattr(control, "create_container", lambda host, ref: None)
    monkeypatch.setattr(control, "wait_ssh", lambda host, timeout=0: False)
    monkeypatch.setattr(control, "journal_tail", lambda host, lines=30: "sshd: fatal: no hostkeys available")
    r = control.bring_up_host("db-01", "img:1")
    assert r.action == "failed" and "no hostkeys available" in r.detail


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("up", "down", "status", "ssh", "images", "cmdb", "pve-env"):
        assert cmd in out


def test_kept_container_that_does_not_answer_is_recreated(monkeypatch):
    created = []
    monkeypatch.setattr(control, "inspect_container", lambda name: _info("img:1", "fp"))
    monkeypatch.setattr(control.keys, "fingerprint", lambda host: "fp")
    monkeypatch.setattr(control, "create_container", lambda host, ref: created.append(host))
    answers = iter([False, True])
    monkeypatch.setattr(control, "wait_ssh", lambda host, timeout=0: next(answers))
    r = control.bring_up_host("db-01", "img:1")
    assert (r.action, created) == ("recreated", ["db-01"])


def test_current_container_answering_is_kept(monkeypatch):
    monkeypatch.setattr(control, "inspect_container", lambda name: _info("img:1", "fp"))
    monkeypatch.setattr(control.keys, "fingerprint", lambda host: "fp")
    monkeypatch.setattr(control, "create_container", lambda host, ref: pytest.fail("must not recreate"))
    monkeypatch.setattr(control, "wait_ssh", lambda host, timeout=0: True)
    assert control.bring_up_host("db-01", "img:1").action == "kept"
