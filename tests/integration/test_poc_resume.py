"""Interrupted POC runs complete when re-run, with nothing lost (issue #7), against the lab.

One POC of the whole acme host (`poc-acme-mvps-acme-01-326a0957`, its own: other tests use the acme-blog and globex POCs):

1. a run with a bandwidth limit (`s4_poc_bwlimit`) is interrupted by stopping the VM through the Proxmox API while
   rsync copies the files: the run fails and the report names the step, the host and the resume command;
2. a rerun (with a limit, so the dump lasts long enough) loses its SSH stream while dumping the database: the run
   fails with a report, no restore marker and no complete dump were left behind (no half-restored database can be
   accepted);
3. the same command without a limit completes: report passed, integrity gate passed, restore marker and post-restore
   checksum from the source's current state; the source's data manifest is the one from before;
4. a further rerun reports changed=0.

The POC is torn down at the end whatever happened. Needs `scripts/lab up` (the lab's PVE server included).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from poc_support import INVENTORY_POC, RECAP, ROOT, entry, playbook, pve_env, source_manifest, vm_container
from proxmoxer import ProxmoxAPI

from s4.poc.plan import poc_name

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NAME = poc_name("acme", "mvps-acme-01")  # poc-acme-mvps-acme-01-326a0957
SOURCE = "mvps-acme-01"
# what the plan copies of the acme site (only its own config and the content directory: issue #13 finding 6)
ROOTS = ["/etc/wordpress/config-blog.acme.example.php", "/var/lib/wordpress/wp-content"]
EXTRA = ["-e", f"s4_poc_source={SOURCE}"]
DB = "acme_wp"
STATE = "/var/lib/s4-data-migrate/db"
VERIFIED = f"/var/lib/s4-poc/verified-{DB}.json"
RUN_TIMEOUT = 900  # one playbook run on a loaded CI machine
# the dump's ssh stream (not rsync's, not the shell running it): argv starts with ssh and names mysqldump
DUMP_SSH = "^ssh .*s4-dump mariadb"


def _exec(vmid: int, command: str, *, check: bool = False, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", vm_container(vmid), "sh", "-c", command], capture_output=True,
                          text=True, timeout=timeout, check=check)


def _wait(what: str, cond: Callable[[], Any], proc: subprocess.Popen[str] | None, deadline: float = 600) -> Any:
    """Poll ``cond`` until it returns something truthy; fail if ``proc`` ended first or the deadline passed."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {what}")
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _vmid() -> int | None:
    path = INVENTORY_POC / f"{NAME}.yml"
    if not path.exists():
        return None
    try:
        return int(entry(NAME)["s4_poc"]["vmid"])
    except (KeyError, TypeError, ValueError):
        return None


def _count(vmid: int, roots: list[str]) -> int:
    out = _exec(vmid, "find " + " ".join(roots) + " 2>/dev/null | wc -l").stdout.strip()
    return int(out or 0)


def _pve() -> ProxmoxAPI:
    env = pve_env()
    return ProxmoxAPI(env["PVE_HOST"], port=int(env["PVE_PORT"]), user=env["PVE_USER"], token_name=env["PVE_TOKEN_ID"],
                      token_value=env["PVE_TOKEN_SECRET"], verify_ssl=env["PVE_CA"], timeout=30)


class Runs:
    def __init__(self) -> None:
        self.out: dict[str, tuple[int, str, dict[str, dict[str, int]]]] = {}
        self.manifest_before = ""
        self.source_count = 0
        self.vmid = 0
        self.copied_at_stop = 0
        self.after_drop: dict[str, bool] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        self.marker = ""
        self.verified: dict[str, Any] = {}
        self.partial_dirs = ""
        self.grant_left = True


def _start(log: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "playbooks/poc_provision.yml", *EXTRA, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True, env=pve_env())


def _finish(proc: subprocess.Popen[str], log: Path) -> tuple[int, str, dict[str, dict[str, int]]]:
    try:
        rc = proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the run did not end within {RUN_TIMEOUT}s:\n" + log.read_text()[-3000:])
    out = log.read_text()
    recap = {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                          "failed": int(m.group(5))} for m in RECAP.finditer(out)}
    return rc, out, recap


def _report() -> dict[str, Any]:
    return json.loads((ROOT / "reports" / "poc" / NAME / "report.json").read_text())


@pytest.fixture(scope="module")
def runs(ssh: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    env = pve_env()
    r = Runs()
    playbook("poc_teardown.yml", "-e", f"s4_poc_name={NAME}", env=env)  # leftovers of an aborted session
    r.manifest_before = source_manifest(ssh, SOURCE, ROOTS)
    r.source_count = int(ssh(SOURCE, "find " + " ".join(ROOTS) + " | wc -l").stdout.strip())
    tmp = tmp_path_factory.mktemp("poc-resume")  # the runs' logs
    try:
        # 1. VM stopped while rsync copies the files (the limit keeps the copy going for ~30 s)
        proc = _start(tmp / "a.log", "-e", "s4_poc_bwlimit=4096")
        r.vmid = _wait("the POC's inventory entry", _vmid, proc)
        _wait("rsync copying the uploads on the POC",
              lambda: _exec(r.vmid, "pgrep -x rsync >/dev/null && ls /var/lib/wordpress/wp-content/uploads "
                                    "2>/dev/null | grep -q .").returncode == 0, proc)
        r.copied_at_stop = _count(r.vmid, ROOTS)
        assert _exec(r.vmid, "pgrep -x rsync").returncode == 0, "the copy ended before the VM could be stopped"
        node = _pve().nodes("pve").qemu(r.vmid)
        node.status.stop.post()
        _wait("the VM to stop", lambda: node.status.current.get()["status"] == "stopped", None, 120)
        r.out["stopped"] = _finish(proc, tmp / "a.log")
        r.reports["stopped"] = _report()
        # the failure path revokes the POC's migration grant on the source (authorized_keys line and allow file)
        r.grant_left = ssh(SOURCE, f"grep -qF 's4-poc:{NAME}' /root/.ssh/authorized_keys || "
                                   f"test -e /etc/s4/migration/{NAME}.json", check=False).returncode == 0

        # 2. SSH stream dropped during the database dump (the rerun starts the VM again; the dump is throttled)
        proc = _start(tmp / "b.log", "-e", "s4_poc_bwlimit=8192")
        _wait("the VM running again", lambda: _exec(r.vmid, "true").returncode == 0, proc)
        # once the dump has started arriving (the throttle keeps it streaming for seconds), kill its ssh
        killer = (f"timeout {RUN_TIMEOUT} sh -c 'until [ -s {STATE}/{DB}.sql.part ] && pkill -f \"{DUMP_SSH}\"; "
                  "do sleep 0.05; done' s4-dump-killer")
        subprocess.run(["podman", "exec", "-d", vm_container(r.vmid), "sh", "-c", killer], check=True, timeout=60)
        r.out["dropped"] = _finish(proc, tmp / "b.log")
        _exec(r.vmid, "pkill -f '[s]4-dump-killer'")  # a killer that never fired must not hit the next run
        r.reports["dropped"] = _report()
        r.after_drop = {
            "marker": _exec(r.vmid, f"test -e {STATE}/{DB}.restored").returncode == 0,
            "dump": _exec(r.vmid, f"test -e {STATE}/{DB}.sql").returncode == 0,
            "part": _exec(r.vmid, f"test -s {STATE}/{DB}.sql.part").returncode == 0,
            "verified": _exec(r.vmid, f"test -e {VERIFIED}").returncode == 0,
        }

        # 3. the same command, no limit: completes
        r.out["resumed"] = playbook("poc_provision.yml", *EXTRA, env=env)
        r.reports["resumed"] = _report()
        r.marker = _exec(r.vmid, f"cat {STATE}/{DB}.restored").stdout.strip()
        r.verified = json.loads(_exec(r.vmid, f"cat {VERIFIED}").stdout or "{}")
        r.partial_dirs = _exec(r.vmid, "find " + " ".join(ROOTS) + " -name '.s4-rsync-partial*'").stdout.strip()

        # 4. once more: nothing to do
        r.out["again"] = playbook("poc_provision.yml", *EXTRA, env=env)
        yield r
    finally:
        rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={NAME}", env=env)
        assert rc == 0, out[-3000:]


def _assert_failure_report(rep: dict[str, Any], out: str) -> dict[str, Any]:
    assert rep["status"] == "failed", rep["status"]
    step = rep["failed_step"]
    assert step["step"] == "migrate the data" and step["host"] == NAME, step
    assert "ansible-playbook playbooks/poc_provision.yml" in step["resume"] and f"s4_poc_source={SOURCE}" in step["resume"]
    assert f"failed on {NAME}" in out and "To resume" in out, out[-3000:]
    return step


def test_vm_stopped_mid_copy_fails_with_a_report(runs: Runs) -> None:
    rc, out, recap = runs.out["stopped"]
    assert rc != 0, out[-3000:]
    step = _assert_failure_report(runs.reports["stopped"], out)
    assert "lost the connection" in step["message"] and "Proxmox reports the VM" in step["message"], step
    assert not runs.grant_left, "the failed run left the POC's migration key authorised on the source"
    # the copy really was partial when the VM stopped
    assert 0 < runs.copied_at_stop < runs.source_count, (runs.copied_at_stop, runs.source_count)


def test_ssh_dropped_during_the_dump_fails_without_a_half_restore(runs: Runs) -> None:
    rc, out, _ = runs.out["dropped"]
    assert rc != 0, out[-3000:]
    step = _assert_failure_report(runs.reports["dropped"], out)
    assert "Dump on the source" in step["task"] and "non-zero return code" in step["message"], step
    # killed mid-stream: a partial dump that was never renamed into place, no restore marker, no checksum recorded
    assert runs.after_drop == {"marker": False, "dump": False, "part": True, "verified": False}, runs.after_drop


def test_rerun_without_limit_completes_and_passes_the_gate(runs: Runs) -> None:
    rc, out, _ = runs.out["resumed"]
    assert rc == 0, out[-5000:]
    rep = runs.reports["resumed"]
    assert rep["status"] == "passed" and rep["failed_step"] is None
    assert rep["integrity"]["passed"] and not rep["integrity"]["mismatches"], rep["integrity"]
    assert all(i["passed"] for i in rep["interop"]), [i for i in rep["interop"] if not i["passed"]]
    dbs = {d["database"]: d for d in rep["integrity"]["databases"]}
    assert dbs[DB]["passed"] and not dbs[DB]["mismatches"]
    # the restore finished from the source state the gate compared against, and its checksum was taken after it
    assert runs.marker and runs.marker == runs.verified.get("source_checksum"), (runs.marker, runs.verified)
    assert runs.partial_dirs == "", runs.partial_dirs


def test_source_is_untouched(runs: Runs, ssh: Callable[..., Any]) -> None:
    assert source_manifest(ssh, SOURCE, ROOTS) == runs.manifest_before


def test_final_rerun_changes_nothing(runs: Runs) -> None:
    rc, out, recap = runs.out["again"]
    assert rc == 0, out[-5000:]
    assert recap and all(r["changed"] == 0 and r["failed"] == 0 for r in recap.values()), recap


@pytest.mark.parametrize("value", ["fast", "-1", "1.5"])
def test_bad_bandwidth_limit_is_refused_before_any_change(value: str) -> None:
    entry_file = INVENTORY_POC / f"{NAME}.yml"
    existed = entry_file.exists()
    rc, out, recap = playbook("poc_provision.yml", *EXTRA, "-e", f"s4_poc_bwlimit={value}")
    assert rc != 0 and f"s4_poc_bwlimit must be a bandwidth in KiB/s (0 = no limit), got '{value}'" in out, out[-2000:]
    assert set(recap) == {"localhost"}, recap  # stopped in the guard, before the source or Proxmox
    assert entry_file.exists() == existed
