"""SSH material: keys are generated once and kept; known_hosts pins every host by address and name."""

from __future__ import annotations

import pytest

from s4.lab import keys, topology


@pytest.fixture
def ssh_dir(tmp_path, monkeypatch):
    d = tmp_path / "ssh"
    monkeypatch.setattr(topology, "SSH_DIR", d)
    monkeypatch.setattr(topology, "SSH_KEY", d / "id_ed25519")
    monkeypatch.setattr(topology, "KNOWN_HOSTS", d / "known_hosts")
    monkeypatch.setattr(keys, "HOSTKEY_DIR", d / "hostkeys")
    return d


def test_ensure_creates_keys_and_known_hosts(ssh_dir):
    keys.ensure()
    assert (ssh_dir / "id_ed25519").exists()
    lines = (ssh_dir / "known_hosts").read_text().splitlines()
    assert len(lines) == len(topology.HOSTS)
    for h, line in zip(topology.HOSTS, lines, strict=True):
        names, kind, key = line.split()
        assert names == f"{h.address},{h.name}" and kind == "ssh-ed25519"
        assert key == keys.host_key(h.name).with_suffix(".pub").read_text().split()[1]
    assert len({line.split()[2] for line in lines}) == len(lines), "each host has its own key"


def test_keys_survive_a_second_ensure(ssh_dir):
    keys.ensure()
    before = {h.name: keys.fingerprint(h.name) for h in topology.HOSTS}
    keys.ensure()
    assert before == {h.name: keys.fingerprint(h.name) for h in topology.HOSTS}


def test_regenerated_key_changes_fingerprint(ssh_dir):
    keys.ensure()
    fp = keys.fingerprint("db-01")
    keys.host_key("db-01").unlink()
    keys.ensure()
    assert keys.fingerprint("db-01") != fp


def test_ssh_command_pins_host_keys(ssh_dir):
    cmd = keys.ssh_command("shared-01")
    assert "StrictHostKeyChecking=yes" in cmd
    assert f"UserKnownHostsFile={ssh_dir / 'known_hosts'}" in cmd
    assert cmd[-1] == "root@" + topology.host("shared-01").address
    with pytest.raises(KeyError, match="unknown lab host"):
        keys.ssh_command("nope")
