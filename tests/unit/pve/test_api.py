"""The API's VM lifecycle on a recording backend (no podman)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from s4.pve import control
from s4.pve.api import Api, Ctx
from s4.pve.errors import ParamError, PVEError
from s4.pve.state import State
from s4.pve.tasks import UPID_RE, TaskRunner

from .conftest import FakeBackend

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB1x3vV9yQw1oWc5C1cHhV0bq8m2M9V1Q2h9cHYw7pJr user@host"


def call(api: Api, ctx: Ctx, method: str, path: str, **params: Any) -> Any:
    return api.dispatch(method, path, ctx, {k: str(v) for k, v in params.items()})


def wait(api: Api, upid: str) -> tuple[str, list[str]]:
    assert UPID_RE.match(upid), upid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        task = api.runner.get(upid)
        assert task is not None
        if task.status == "stopped":
            return str(task.exitstatus), list(task.lines)
        time.sleep(0.01)
    raise AssertionError("task did not finish")


def clone(api: Api, ctx: Ctx, newid: int = 120, **kw: Any) -> tuple[str, list[str]]:
    return wait(api, call(api, ctx, "POST", "/nodes/pve/qemu/9000/clone", newid=newid, **kw))


def test_seed_templates_and_listings(api: Api, root: Ctx) -> None:
    res = call(api, root, "GET", "/cluster/resources", type="vm")
    names = {r["vmid"]: (r["name"], r["template"], r["status"]) for r in res}
    assert names[9000] == ("debian13-template", 1, "stopped") and names[9001][0] == "debian12-template"
    assert all(isinstance(r["vmid"], int) and r["id"] == f"qemu/{r['vmid']}" for r in res)
    assert call(api, root, "GET", "/cluster/nextid") == "100"
    with pytest.raises(ParamError) as exc:
        call(api, root, "GET", "/cluster/nextid", vmid=9000)
    assert exc.value.errors == {"vmid": "VM 9000 already exists"}
    qemu = {v["vmid"]: v for v in call(api, root, "GET", "/nodes/pve/qemu")}
    assert qemu[9000]["template"] == 1
    cfg = call(api, root, "GET", "/nodes/pve/qemu/9000/config")
    assert cfg["agent"] == "1" and cfg["memory"] == "2048" and cfg["cores"] == 2 and re.fullmatch(r"[0-9a-f]{40}", cfg["digest"])
    assert re.match(r"virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$", cfg["net0"])
    assert call(api, root, "GET", "/nodes/pve/status")["pveversion"].startswith("pve-manager/8")


def test_unknown_things(api: Api, root: Ctx) -> None:
    with pytest.raises(PVEError) as exc:
        call(api, root, "GET", "/nodes/pve/foo")
    assert (exc.value.code, exc.value.reason) == (501, "Method 'GET /nodes/pve/foo' not implemented")
    with pytest.raises(PVEError) as exc:
        call(api, root, "GET", "/nodes/pve/qemu/4242/status/current")
    assert exc.value.reason == "Configuration file 'nodes/pve/qemu-server/4242.conf' does not exist"
    with pytest.raises(PVEError) as exc:
        call(api, root, "GET", "/nodes/other/qemu")
    assert exc.value.code == 500 and "hostname lookup 'other' failed" in exc.value.reason


def test_linked_clone_cloudinit_start_agent(api: Api, root: Ctx, backend: FakeBackend) -> None:
    status, lines = clone(api, root, name="web1")
    assert status == "OK", lines
    cfg = call(api, root, "GET", "/nodes/pve/qemu/120/config")
    tmpl = call(api, root, "GET", "/nodes/pve/qemu/9000/config")
    assert cfg["name"] == "web1" and "template" not in cfg and "lock" not in cfg
    assert cfg["scsi0"] == "local-lvm:base-9000-disk-0/vm-120-disk-0,size=8G"
    assert cfg["ide2"] == "local-lvm:vm-120-cloudinit,media=cdrom"
    assert cfg["net0"] != tmpl["net0"] and cfg["smbios1"] != tmpl["smbios1"]
    create = [c for c in backend.calls if c[0] == "create"][0]
    assert create[1:3] == ("s4pveunit-120", "localhost/s4lab/base-trixie:latest")  # shares the template layers
    assert not [c for c in backend.calls if c[0] == "flatten"]

    with pytest.raises(PVEError) as exc:
        call(api, root, "GET", "/nodes/pve/qemu/120/agent/network-get-interfaces")
    assert exc.value.reason == "VM 120 is not running"
    with pytest.raises(PVEError) as exc:
        call(api, root, "PUT", "/nodes/pve/qemu/120/config", sshkeys=quote("not a key", safe=""))
    assert exc.value.reason == "SSH public key validation error"
    assert call(api, root, "PUT", "/nodes/pve/qemu/120/config", ciuser="debian", sshkeys=quote(KEY, safe=""),
                cipassword="pw", ipconfig0="ip=10.89.40.150/24,gw=10.89.40.1", nameserver="10.89.40.1 9.9.9.9",
                searchdomain="lab.example") is None
    cfg = call(api, root, "GET", "/nodes/pve/qemu/120/config")
    assert cfg["sshkeys"] == quote(KEY, safe="") and cfg["cipassword"] == "**********"
    stored = api.state.get(120)["conf"]["cipassword"]  # type: ignore[index]
    assert stored.startswith("$5$") and "pw" not in stored

    status, lines = wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/start"))
    assert status == "OK", lines
    assert backend.containers["s4pveunit-120"]["ip"] == "10.89.40.150"  # static address applied before boot
    ci = [e for e in backend.execs if e[1][0] == "python3"][-1]
    assert '"user": "debian"' in (ci[2] or "") and KEY in (ci[2] or "") and "nameserver 9.9.9.9" in (ci[2] or "")
    cur = call(api, root, "GET", "/nodes/pve/qemu/120/status/current")
    assert (cur["status"], cur["qmpstatus"], cur["agent"]) == ("running", "running", 1)
    result = call(api, root, "GET", "/nodes/pve/qemu/120/agent/network-get-interfaces")["result"]
    assert result[0]["name"] == "lo"
    eth0 = result[1]
    assert eth0["hardware-address"] == re.search(r"=([0-9A-F:]{17})", cfg["net0"]).group(1).lower()  # type: ignore[union-attr]
    assert eth0["ip-addresses"] == [{"ip-address": "10.89.40.150", "ip-address-type": "ipv4", "prefix": 24}]
    status, lines = wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/start"))
    assert status == "VM 120 already running" and lines[-1] == "TASK ERROR: VM 120 already running"
    with pytest.raises(PVEError) as exc:
        call(api, root, "DELETE", "/nodes/pve/qemu/120")
    assert exc.value.reason == "VM 120 is running - destroy failed"
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/shutdown", forceStop=1, timeout=5))[0] == "OK"
    assert wait(api, call(api, root, "DELETE", "/nodes/pve/qemu/120"))[0] == "OK"
    assert "s4pveunit-120" not in backend.containers and api.state.get(120) is None


def test_agent_error_order(api: Api, root: Ctx) -> None:
    clone(api, root)
    call(api, root, "PUT", "/nodes/pve/qemu/120/config", delete="agent")
    with pytest.raises(PVEError) as exc:
        call(api, root, "GET", "/nodes/pve/qemu/120/agent/network-get-interfaces")
    assert exc.value.reason == "No QEMU guest agent configured"
    call(api, root, "PUT", "/nodes/pve/qemu/120/config", agent="enabled=1")
    api.booting.add(120)
    wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/stop"))
    api.backend.start("s4pveunit-120")
    with pytest.raises(PVEError) as exc:
        call(api, root, "GET", "/nodes/pve/qemu/120/agent/network-get-interfaces")
    assert exc.value.reason == "QEMU guest agent is not running"


def test_dhcp_lease_from_poc_range(api: Api, root: Ctx, backend: FakeBackend) -> None:
    clone(api, root, 120)
    clone(api, root, 121)
    ips = {backend.containers[f"s4pveunit-{i}"]["ip"] for i in (120, 121)}
    assert len(ips) == 2 and all(ip.startswith("10.89.40.1") and 100 <= int(ip.rsplit(".", 1)[1]) <= 199 for ip in ips)


def test_dhcp_lease_skips_addresses_other_servers_use(api: Api, root: Ctx, backend: FakeBackend,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Another PVE server's VMs (the lab's, while the integration tests run their own server) hold .100 and .101 on
    the same network: a new VM's lease must not reuse them (podman start failed on a taken address)."""
    monkeypatch.setattr(backend, "used_ips", lambda: {"10.89.40.100", "10.89.40.101"})
    clone(api, root, 120)
    assert backend.containers["s4pveunit-120"]["ip"] == "10.89.40.102"


def test_full_clone_copies_the_disk(api: Api, root: Ctx, backend: FakeBackend) -> None:
    status, _ = clone(api, root, full=1, storage="local-lvm")
    assert status == "OK"
    assert ("flatten", "localhost/s4lab/base-trixie:latest", "localhost/s4pveunit/vm-120-disk-0:latest") in backend.calls
    assert call(api, root, "GET", "/nodes/pve/qemu/120/config")["scsi0"] == "local-lvm:vm-120-disk-0,size=8G"
    wait(api, call(api, root, "DELETE", "/nodes/pve/qemu/120"))
    assert "localhost/s4pveunit/vm-120-disk-0:latest" not in backend.images
    assert "localhost/s4lab/base-trixie:latest" in backend.images  # the template image is never removed


def test_clone_errors(api: Api, root: Ctx) -> None:
    with pytest.raises(PVEError) as exc:
        call(api, root, "POST", "/nodes/pve/qemu/9000/clone", newid=9001)
    assert exc.value.reason == "unable to create VM 9001: config file already exists"
    with pytest.raises(PVEError) as exc:
        call(api, root, "POST", "/nodes/pve/qemu/9000/clone", newid=130, full=0, storage="local-lvm")
    assert exc.value.reason == "parameter 'storage' not allowed for linked clones"
    with pytest.raises(ParamError) as exc:
        call(api, root, "POST", "/nodes/pve/qemu/9000/clone", newid=130, full="True")
    assert exc.value.errors == {"full": "type check ('boolean') failed - got 'True'"}


def test_podman_failure_in_clone_unregisters(api: Api, root: Ctx, backend: FakeBackend) -> None:
    backend.fail["create"] = "no space left on device"
    status, lines = clone(api, root)
    assert status == "podman create failed: no space left on device"
    assert lines[-1] == "TASK ERROR: podman create failed: no space left on device"
    assert api.state.get(120) is None and not backend.containers
    backend.fail = {"import": "broken pipe"}
    status, _ = clone(api, root, full=1)
    assert status.startswith("podman import failed") and api.state.get(120) is None


def test_podman_failure_in_start(api: Api, root: Ctx, backend: FakeBackend) -> None:
    clone(api, root)
    backend.fail["start"] = "OCI runtime error"
    status, lines = wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/start"))
    assert status == "podman start failed: OCI runtime error" and lines[-1].startswith("TASK ERROR")
    assert api.state.get(120) is not None  # the VM stays, stopped
    assert call(api, root, "GET", "/nodes/pve/qemu/120/status/current")["status"] == "stopped"


def test_locks(api: Api, root: Ctx) -> None:
    clone(api, root)
    vm = api.state.get(120)
    assert vm is not None
    vm["lock"] = "backup"
    api.state.put(vm)
    for method, path, params in (("PUT", "/nodes/pve/qemu/120/config", {"description": "x"}),
                                 ("POST", "/nodes/pve/qemu/120/clone", {"newid": 130}),
                                 ("POST", "/nodes/pve/qemu/120/template", {})):
        with pytest.raises(PVEError) as exc:
            call(api, root, method, path, **params)
        assert exc.value.reason == "VM is locked (backup)"
    assert call(api, root, "GET", "/nodes/pve/qemu/120/config")["lock"] == "backup"
    assert call(api, root, "GET", "/nodes/pve/qemu/120/status/current")["lock"] == "backup"
    # start, snapshot and delete fail inside their task
    for method, path, params in (("POST", "/nodes/pve/qemu/120/status/start", {}),
                                 ("POST", "/nodes/pve/qemu/120/snapshot", {"snapname": "s1"}),
                                 ("DELETE", "/nodes/pve/qemu/120", {})):
        assert wait(api, call(api, root, method, path, **params))[0] == "VM is locked (backup)"
    # skiplock is root@pam only; delete=lock + skiplock unlocks (qm unlock)
    assert call(api, root, "PUT", "/nodes/pve/qemu/120/config", delete="lock", skiplock=1) is None
    assert "lock" not in call(api, root, "GET", "/nodes/pve/qemu/120/config")


def test_skiplock_needs_root(api: Api, state_dir: Path) -> None:
    from s4.pve.auth import Authority, Principal

    ctx = Ctx(Principal("root@pam", "s4"), Authority(state_dir))
    with pytest.raises(ParamError) as exc:
        call(api, ctx, "PUT", "/nodes/pve/qemu/9000/config", description="x", skiplock=1)
    assert exc.value.errors == {"skiplock": "Only root may use this option."}


def test_config_put_errors(api: Api, root: Ctx) -> None:
    with pytest.raises(PVEError) as exc:
        call(api, root, "PUT", "/nodes/pve/qemu/9000/config")
    assert exc.value.reason == "no options specified"
    with pytest.raises(PVEError) as exc:
        call(api, root, "PUT", "/nodes/pve/qemu/9000/config", description="x", digest="0" * 40)
    assert exc.value.reason == "checksum mismatch (file change by other user?)"
    with pytest.raises(ParamError) as exc:
        call(api, root, "PUT", "/nodes/pve/qemu/9000/config", foo="1")
    assert exc.value.errors == {"foo": "property is not defined in schema and the schema does not allow additional properties"}


def test_snapshots(api: Api, root: Ctx, backend: FakeBackend) -> None:
    clone(api, root)
    wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/start"))
    with pytest.raises(PVEError) as exc:
        call(api, root, "POST", "/nodes/pve/qemu/120/snapshot", snapname="current")
    assert exc.value.reason == "unable to use snapshot name 'current' (reserved name)"
    with pytest.raises(ParamError):
        call(api, root, "POST", "/nodes/pve/qemu/120/snapshot", snapname="1x")
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/snapshot", snapname="pre", description="d",
                          vmstate=0))[0] == "OK"
    assert ("commit", "s4pveunit-120", "localhost/s4pveunit/snap-120-pre:latest") in backend.calls
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/snapshot", snapname="pre"))[0] == \
        "snapshot name 'pre' already used"
    snaps = call(api, root, "GET", "/nodes/pve/qemu/120/snapshot")
    assert snaps[-1]["name"] == "current" and snaps[-1]["parent"] == "pre" and snaps[-1]["running"] == 1
    assert isinstance(snaps[0]["snaptime"], int) and snaps[0]["description"] == "d"
    call(api, root, "PUT", "/nodes/pve/qemu/120/config", description="changed")
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/snapshot/pre/rollback"))[0] == "OK"
    cfg = call(api, root, "GET", "/nodes/pve/qemu/120/config")
    assert cfg["description"] != "changed" and cfg["parent"] == "pre"
    assert backend.containers["s4pveunit-120"]["image"] == "localhost/s4pveunit/snap-120-pre:latest"
    assert call(api, root, "GET", "/nodes/pve/qemu/120/status/current")["status"] == "stopped"  # rollback stops
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/snapshot/nope/rollback"))[0] == \
        "snapshot 'nope' does not exist"
    assert wait(api, call(api, root, "DELETE", "/nodes/pve/qemu/120/snapshot/pre", force=0))[0] == "OK"
    assert [s["name"] for s in call(api, root, "GET", "/nodes/pve/qemu/120/snapshot")] == ["current"]
    wait(api, call(api, root, "DELETE", "/nodes/pve/qemu/120"))
    assert not [i for i in backend.images if "s4pveunit" in i]


def test_template_conversion(api: Api, root: Ctx, backend: FakeBackend) -> None:
    clone(api, root)
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/template"))[0] == "OK"
    cfg = call(api, root, "GET", "/nodes/pve/qemu/120/config")
    assert cfg["template"] == 1 and cfg["scsi0"].startswith("local-lvm:base-9000-disk-0/base-120-disk-0")
    with pytest.raises(PVEError) as exc:
        call(api, root, "POST", "/nodes/pve/qemu/120/template")
    assert exc.value.reason == "you can't convert a template to a template"
    assert wait(api, call(api, root, "POST", "/nodes/pve/qemu/120/status/start"))[0] == \
        "you can't start a vm if it's a template"


def test_auditor_cannot_create(api: Api, auditor: Ctx) -> None:
    assert call(api, auditor, "GET", "/cluster/resources", type="vm")
    for path, params in (("/nodes/pve/qemu/9000/clone", {"newid": 130}), ("/nodes/pve/qemu", {"vmid": 130})):
        with pytest.raises(PVEError) as exc:
            call(api, auditor, "POST", path, **params)
        assert exc.value.code == 403 and exc.value.reason.startswith("Permission check failed (/vms/")
    assert api.state.get(130) is None


def test_tasks(api: Api, root: Ctx, auditor: Ctx) -> None:
    upid = call(api, root, "POST", "/nodes/pve/qemu/9000/clone", newid=120)
    wait(api, upid)
    st = call(api, root, "GET", f"/nodes/pve/tasks/{upid}/status")
    assert (st["type"], st["id"], st["user"], st["exitstatus"]) == ("qmclone", "9000", "root@pam", "OK")
    log, total = call(api, root, "GET", f"/nodes/pve/tasks/{upid}/log", start=0, limit=1)
    assert total >= 2 and log == [{"n": 1, "t": log[0]["t"]}]
    with pytest.raises(ParamError) as exc:
        call(api, root, "GET", "/nodes/pve/tasks/UPID:garbage/status")
    assert exc.value.errors == {"upid": "unable to parse worker upid"}
    with pytest.raises(ParamError) as exc:
        call(api, root, "GET", "/nodes/pve/tasks/" + upid.replace(":qmclone:", ":qmstart:") + "/status")
    assert exc.value.errors == {"upid": "no such task"}
    assert any(t["upid"] == upid for t in call(api, root, "GET", "/nodes/pve/tasks"))
    assert call(api, auditor, "GET", f"/nodes/pve/tasks/{upid}/status")["status"] == "stopped"  # Sys.Audit


def test_state_survives_restart_and_reconcile(api: Api, root: Ctx, backend: FakeBackend, state_dir: Path) -> None:
    clone(api, root, 120)
    upid = call(api, root, "POST", "/nodes/pve/qemu/9000/clone", newid=121)
    wait(api, upid)
    half = api.state.get(121)
    assert half is not None
    half["lock"] = "clone"  # as if the server died in the middle of the clone
    api.state.put(half)
    backend.containers["s4pveunit-999"] = {"state": "running", "ip": "x", "mac": "y"}  # an orphan of ours
    again = Api(State(state_dir, image_prefix="localhost/s4pveunit"), backend, TaskRunner(state_dir, "pve"),
                container_prefix="s4pveunit-")
    done = control.reconcile(again)
    assert again.state.get(120) is not None and again.state.get(121) is None
    assert set(backend.containers) == {"s4pveunit-120"}
    assert any("orphan" in d for d in done) and any("half-created" in d for d in done)
    # finished tasks stay readable after the restart
    assert again.runner.get(upid) is not None and again.runner.get(upid).exitstatus == "OK"  # type: ignore[union-attr]
