"""The target holds an exact copy of the source's tree (owners, modes, times, hard links), pulled with its own
migration key that the source accepts only for its forced command; hostile files do not come along."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
import testinfra

SRC = "s4mol-migrate-src"


@pytest.fixture(scope="module")
def source():
    return testinfra.get_host(f"podman://{SRC}")


def _ssh_to_source(host, source, command):
    """ssh from the target to the source with the target's migration key, as the role does."""
    addr = source.check_output("hostname -I").split()[0]
    return host.run(
        "ssh -F /dev/null -i /var/lib/s4-data-migrate/id_ed25519 -o IdentitiesOnly=yes -o IdentityAgent=none "
        "-o BatchMode=yes -o UserKnownHostsFile=/var/lib/s4-data-migrate/known_hosts -o StrictHostKeyChecking=yes "
        f"root@{addr} {command}"
    )


def test_files_are_copied_with_owner_mode_and_time(host):
    f = host.file("/srv/www/site/index.php")
    assert f.content_string == "hello\n"
    assert f.mode == 0o640
    assert f.mtime.year == 2020


def test_names_with_spaces_and_uids_survive(host):
    f = host.file("/srv/www/site/uploads/2026/a file with spaces.txt")
    assert f.content_string == "data\n"
    assert f.uid == 33 and f.gid == 33


def test_hard_links_are_kept(host):
    assert host.file("/srv/www/site/hardlink.php").inode == host.file("/srv/www/site/index.php").inode


def test_link_to_other_tenants_file_does_not_bring_that_file(host):
    assert host.file("/srv/www/site/other-env").is_symlink
    assert not host.file("/srv/www/other-tenant/.env").exists
    assert not host.file("/srv/www/other-tenant").exists
    refused = json.loads(host.file("/root/link-targets-refused.json").content_string)
    assert "/srv/www/other-tenant/.env" in [r["target"] for r in refused]


def test_link_to_system_dir_outside_the_roots_is_not_fetched(host):
    assert host.file("/srv/www/site/theme").is_symlink
    assert not host.file("/usr/share/s4demo/theme/style.css").exists


def test_dangling_link_target_inside_the_roots_is_fetched(host):
    assert host.file("/srv/www/site/cache/page.html").content_string == "cached\n"


def test_planted_setuid_file_arrives_without_the_bit(host, source):
    assert source.file("/srv/www/site/uploads/suid-true").mode & 0o4000  # the source really had it
    f = host.file("/srv/www/site/uploads/suid-true")
    assert f.exists and f.mode & 0o6000 == 0 and f.mode & 0o755 == 0o755
    assert host.file("/srv/www/site/uploads/sgid.txt").mode & 0o6000 == 0


def test_planted_fifo_is_not_copied(host, source):
    assert source.file("/srv/www/site/uploads/fifo").is_pipe
    assert not host.file("/srv/www/site/uploads/fifo").exists


def test_big_file_is_complete_and_no_partial_dir_is_left(host):
    assert host.file("/srv/www/site/uploads/2026/big.bin").size == 3000000
    assert not host.file("/srv/www/site/.s4-rsync-partial").exists


def test_source_host_key_is_pinned_and_migration_key_is_root_only(host):
    kh = host.file("/var/lib/s4-data-migrate/known_hosts")
    assert kh.mode == 0o600 and "ssh-ed25519" in kh.content_string
    key = host.file("/var/lib/s4-data-migrate/id_ed25519")
    assert key.mode == 0o600 and key.user == "root"


def test_grant_is_restricted_to_the_forced_command_from_the_target(host, source):
    line = [x for x in source.file("/root/.ssh/authorized_keys").content_string.splitlines() if "s4-poc:poc-molecule" in x]
    assert len(line) == 1
    addr = host.check_output("hostname -I").split()[0]
    assert line[0].startswith(f'restrict,from="{addr}",expiry-time="')
    assert 'command="/usr/local/sbin/s4-migration-pull poc-molecule" ssh-ed25519 ' in line[0]
    allow = source.file("/etc/s4/migration/poc-molecule.json")
    assert allow.mode == 0o600 and allow.user == "root"
    assert json.loads(allow.content_string)["roots"] == ["/srv/www/site", "/srv/www/site-config.php"]


@pytest.mark.parametrize("command", ["id", "'cat /etc/shadow'", "'bash -c id'",
                                     "'rsync --server -logDtpre.iLsfxCIvu . /root/.ssh'",
                                     "'rsync --server --sender -logDtpre.iLsfxCIvu . /etc/shadow'",
                                     "'rsync --server --sender -lHogtpAXre.LsfxCIvu . /srv/www/site/other-env'",
                                     "'s4-dump mariadb mysql'"])
def test_migration_key_cannot_run_anything_else_on_the_source(host, source, command):
    r = _ssh_to_source(host, source, command)
    assert r.rc != 0 and "refused" in r.stderr, (r.rc, r.stdout, r.stderr)
    assert "root:" not in r.stdout and "uid=" not in r.stdout


def test_migration_key_is_not_accepted_from_another_address(source):
    # the source itself is not the target's address: from= refuses the key (even with the forced command)
    key = "/var/lib/s4-data-migrate/id_ed25519"
    subprocess.run(["podman", "cp", f"s4mol-migrate-dst:{key}", "/tmp/s4mol-key"], check=True)
    subprocess.run(["podman", "cp", "/tmp/s4mol-key", f"{SRC}:/root/s4mol-key"], check=True)
    r = source.run("chmod 600 /root/s4mol-key && ssh -F /dev/null -i /root/s4mol-key -o IdentitiesOnly=yes "
                   "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1 s4-ping")
    source.run("rm -f /root/s4mol-key")
    subprocess.run(["rm", "-f", "/tmp/s4mol-key"], check=False)
    assert r.rc != 0 and "granted" not in r.stdout


def test_revoked_grant_is_gone_and_the_key_refused(host, source):
    # last: revoke with the role (state absent), then the key no longer logs in at all
    play = (
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.include_role:\n"
        "        name: s4_data_migrate\n        tasks_from: grant\n      vars:\n"
        "        s4_data_migrate_grant_state: absent\n        s4_data_migrate_grant_name: poc-molecule\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write(play)
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(Path(__file__).resolve().parents[4]))
    r = subprocess.run(["ansible-playbook", "-i", f"{SRC},", "-c", "podman", f.name],
                       capture_output=True, text=True, env=env)
    os.unlink(f.name)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "s4-poc:poc-molecule" not in source.file("/root/.ssh/authorized_keys").content_string
    assert not source.file("/etc/s4/migration/poc-molecule.json").exists
    r = _ssh_to_source(host, source, "s4-ping")
    assert r.rc == 255 and "granted" not in r.stdout


def test_protected_files_are_left_alone(host):
    # protected paths (configs the POC rewrote) are neither copied over nor deleted
    assert not host.file("/srv/www/site/config.php").exists
    # a protected path that is itself a copied root (a site's config file) is not copied over either
    assert host.file("/srv/www/site-config.php").content_string == "rewritten on the POC\n"
