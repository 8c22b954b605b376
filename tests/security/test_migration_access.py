"""Issue #13 findings 4 and 7 on the lab: a POC holds no path to the operator's agent, its own migration key can
only run the forced command on its source (and only while granted), and a hostile dump cannot run shell commands
when it is restored on the POC. Uses the session POCs of tests/conftest.py (acme; globex for PostgreSQL)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from poc_support import INVENTORY_POC, ROOT, Poc, entry, pve_env, vm_container

pytestmark = pytest.mark.integration

KEY = "/var/lib/s4-data-migrate/id_ed25519"
KNOWN_HOSTS = "/var/lib/s4-data-migrate/known_hosts"


def on_poc(poc: Poc, command: str, *, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as root on the POC (the VM's container): what an attacker with root on the POC can do."""
    assert poc.vmid is not None, "the POC was not provisioned"
    return subprocess.run(["podman", "exec", "-i", vm_container(poc.vmid), "sh", "-c", command], input=stdin,
                          capture_output=True, text=True, timeout=120)


def from_poc_to_source(poc: Poc, remote_command: str) -> subprocess.CompletedProcess[str]:
    """ssh from the POC to its source as root with the POC's migration key (as the role does), sending ``remote_command``."""
    addr = entry(poc.name)["s4_poc"]["source"]
    from s4.lab import topology

    src = topology.host(addr).address
    q = remote_command.replace("'", "'\\''")
    return on_poc(poc, f"ssh -F /dev/null -i {KEY} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes "
                       f"-o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes root@{src} '{q}'")


def _grant_play(poc: Poc, state: str) -> tuple[int, str]:
    """Grant (or revoke) the POC's key on its source with the role, as poc_provision.yml's data step does."""
    pub = on_poc(poc, f"cat {KEY}.pub").stdout.split()
    roots = poc.roots
    play = [{"hosts": entry(poc.name)["s4_poc"]["source"], "gather_facts": False, "tasks": [{
        "name": "grant", "ansible.builtin.include_role": {"name": "smartt.s4.s4_data_migrate", "tasks_from": "grant"},
        "vars": {"s4_data_migrate_grant_state": state, "s4_data_migrate_grant_name": poc.name,
                 "s4_data_migrate_grant_public_key": " ".join(pub[:2]),
                 "s4_data_migrate_grant_from": entry(poc.name)["ansible_host"], "s4_data_migrate_grant_roots": roots,
                 "s4_data_migrate_grant_databases": []}}]}]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=ROOT / "playbooks", prefix=".test-grant-",
                                     delete=False) as f:
        json.dump(play, f)
    try:
        p = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), f.name], cwd=ROOT, env=pve_env(),
                           capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(f.name)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture(scope="module")
def granted(acme: Poc) -> Iterator[Poc]:
    """The acme POC's key granted again on its source for the duration of the module's attacks, then revoked."""
    assert acme.runs and acme.runs[0][0] == 0, acme.runs[0][1][-3000:] if acme.runs else "no run"
    rc, out = _grant_play(acme, "present")
    assert rc == 0, out[-3000:]
    try:
        yield acme
    finally:
        rc, out = _grant_play(acme, "absent")
        assert rc == 0, out[-3000:]


def test_poc_inventory_file_holds_no_agent_socket_or_forwarding(acme: Poc) -> None:
    text = (INVENTORY_POC / f"{acme.name}.yml").read_text()
    assert "IdentityAgent" not in text and "agent.sock" not in text and "SSH_AUTH_SOCK" not in text, text
    # the only ForwardAgent the entry may carry switches forwarding off for later connections
    assert re.findall(r"ForwardAgent=(\w+)", text) in ([], ["no"]), text
    assert not (ROOT / ".cache" / "s4" / "poc" / acme.name / "agent.sock").exists()


def test_operator_agent_is_not_forwarded_into_poc_session(acme: Poc, tmp_path: Path) -> None:
    # a controller-side agent is running (as on an operator's desktop): the toolkit's connection must not forward it
    sock = tmp_path / "agent.sock"
    agent = subprocess.run(["ssh-agent", "-a", str(sock)], capture_output=True, text=True, check=True).stdout
    pid = re.search(r"SSH_AGENT_PID=(\d+)", agent)
    try:
        env = {**pve_env(), "SSH_AUTH_SOCK": str(sock)}
        p = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible"), acme.name, "-m", "ansible.builtin.shell",
                            "-a", "env; ls -d /tmp/ssh-* 2>/dev/null || true"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "SSH_AUTH_SOCK" not in p.stdout, p.stdout
        assert "/tmp/ssh-" not in p.stdout.replace("ls -d /tmp/ssh-*", ""), p.stdout
    finally:
        if pid:
            subprocess.run(["kill", pid.group(1)], check=False)


def test_grant_is_revoked_on_the_source_after_the_provision(acme: Poc, ssh: Callable[..., Any]) -> None:
    assert acme.runs and acme.runs[-1][0] == 0
    keys = ssh(acme.source, "cat /root/.ssh/authorized_keys").stdout
    assert f"s4-poc:{acme.name}" not in keys
    assert ssh(acme.source, f"test -e /etc/s4/migration/{acme.name}.json", check=False).returncode != 0
    # and the POC's key therefore does not log in at all
    r = from_poc_to_source(acme, "s4-ping")
    assert r.returncode == 255 and "granted" not in r.stdout, (r.stdout, r.stderr)


def test_migration_key_is_accepted_only_for_the_forced_command(granted: Poc) -> None:
    r = from_poc_to_source(granted, "s4-ping")
    assert r.returncode == 0 and f"{granted.name} granted" in r.stdout, (r.stdout, r.stderr)


@pytest.mark.parametrize("command", ["id", "cat /etc/shadow", "bash -c id",
                                     "rsync --server -logDtpre.iLsfxCIvu . /root/.ssh",
                                     "rsync --server --sender -logDtpre.iLsfxCIvu . /etc/shadow",
                                     "s4-dump mariadb mysql", "mysqldump --all-databases"])
def test_root_on_poc_cannot_run_commands_on_the_source_with_the_migration_key(granted: Poc, command: str) -> None:
    r = from_poc_to_source(granted, command)
    assert r.returncode != 0 and "s4-migration-pull: refused" in r.stderr, (r.returncode, r.stdout, r.stderr)
    assert "uid=" not in r.stdout and "root:" not in r.stdout


def test_root_on_poc_cannot_log_in_to_another_host_with_the_migration_key(granted: Poc) -> None:
    from s4.lab import topology

    other = topology.host("mvps-globex-01").address
    r = on_poc(granted, f"ssh -F /dev/null -i {KEY} -o IdentitiesOnly=yes -o BatchMode=yes "
                        f"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@{other} id")
    assert r.returncode == 255 and "uid=" not in r.stdout


HOSTILE_SQL = """CREATE DATABASE IF NOT EXISTS `s4_hostile`;
USE `s4_hostile`;
\\! touch /tmp/s4-pwned
system touch /tmp/s4-pwned
CREATE TABLE t (i int);
"""


def test_hostile_mariadb_dump_cannot_run_shell_commands_on_restore(acme: Poc) -> None:
    assert on_poc(acme, "rm -f /tmp/s4-pwned /root/hostile.sql && cat > /root/hostile.sql", stdin=HOSTILE_SQL).returncode == 0
    r = on_poc(acme, "/usr/local/sbin/s4-migration-restore mariadb s4_hostile postgres /root/hostile.sql")
    assert on_poc(acme, "test -e /tmp/s4-pwned").returncode != 0, (r.returncode, r.stdout, r.stderr)
    assert r.returncode != 0  # the sandboxed client stops at the shell command
    # control: the same dump through the client as the role used it before (no --sandbox) does run the command
    on_poc(acme, "mysql < /root/hostile.sql")
    assert on_poc(acme, "test -e /tmp/s4-pwned").returncode == 0
    on_poc(acme, "rm -f /tmp/s4-pwned /root/hostile.sql; mysql -e 'DROP DATABASE IF EXISTS s4_hostile'")


HOSTILE_PG = """
CREATE FUNCTION pwn() RETURNS int LANGUAGE plpgsql AS $$
BEGIN COPY (SELECT 1) TO PROGRAM 'touch /tmp/s4-pwned-pg'; RETURN 1; END $$;
CREATE MATERIALIZED VIEW mv AS SELECT pwn() AS x WITH NO DATA;
"""


def test_hostile_postgresql_dump_does_not_run_as_superuser_on_restore(globex: Poc) -> None:
    # a compromised source hands over an archive whose materialized view refresh runs COPY ... TO PROGRAM
    assert globex.runs and globex.runs[0][0] == 0
    owner = json.loads(on_poc(globex, "runuser -u postgres -- psql -XAt -c \"SELECT json_agg(rolname) FROM pg_roles "
                                      "WHERE NOT rolsuper AND rolcanlogin AND rolname NOT LIKE 'pg_%' "
                                      "AND rolname <> 's4_restore'\"").stdout.strip())[0]
    setup = ("rm -f /tmp/s4-pwned-pg; cd / && runuser -u postgres -- createdb s4_hostile_src && "
             "runuser -u postgres -- psql -X -q -d s4_hostile_src && "
             "runuser -u postgres -- psql -X -q -d s4_hostile_src -c 'REFRESH MATERIALIZED VIEW mv' ; "
             "rm -f /tmp/s4-pwned-pg; runuser -u postgres -- pg_dump -Fc s4_hostile_src > /root/hostile.dump && "
             "runuser -u postgres -- dropdb s4_hostile_src")
    r = on_poc(globex, setup, stdin=HOSTILE_PG)
    assert r.returncode == 0, r.stderr
    r = on_poc(globex, f"/usr/local/sbin/s4-migration-restore postgresql s4_hostile {owner} /root/hostile.dump")
    assert on_poc(globex, "test -e /tmp/s4-pwned-pg").returncode != 0, (r.stdout, r.stderr)
    assert r.returncode != 0, (r.stdout, r.stderr)  # the refresh fails: the owner may not run programs
    # the helper role keeps no membership after the restore
    left = on_poc(globex, "runuser -u postgres -- psql -XAt -c \"SELECT count(*) FROM pg_auth_members m JOIN pg_roles r "
                          "ON r.oid = m.member WHERE r.rolname = 's4_restore'\"").stdout.strip()
    assert left == "0"
    on_poc(globex, "rm -f /root/hostile.dump; cd / && runuser -u postgres -- dropdb --if-exists s4_hostile")
