"""The Proxmox VE-compatible lab server against unmodified real clients: proxmoxer, the community.proxmox modules
and inventory plugin, plain ssh into a clone. Runs its own server (separate state dir, port and name prefixes) and
removes everything it created."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from s4.lab import topology
from s4.pve import control
from s4.pve.auth import Authority

pytestmark = pytest.mark.integration



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()
PREFIX = "s4pvet-"
IMAGE_PREFIX = "localhost/s4pvet"
VM_A, VM_B, VM_LOCK = 191, 192, 193
IP_A = "10.89.40.191"
ROOT = topology.ROOT


@pytest.fixture(scope="module")
def pve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for suite in ("trixie", "bookworm"):
        if subprocess.run(["podman", "image", "exists", f"{topology.IMAGE_REPO}/base-{suite}:latest"]).returncode:
            pytest.fail(f"lab image base-{suite} missing: run scripts/lab up")
    state = tmp_path_factory.mktemp("pve-state")
    control.up(state, port=PORT, container_prefix=PREFIX, image_prefix=IMAGE_PREFIX)
    key = tmp_path_factory.mktemp("pve-key") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pvetest@lab", "-f", str(key)], check=True)
    creds = control.credentials(state)
    info = {"state": state, "ca": str(state / "ca.pem"), "creds": creds, "key": key,
            "pubkey": key.with_suffix(".pub").read_text().strip(),
            "base": f"https://127.0.0.1:{PORT}/api2/json"}
    try:
        yield info
    finally:
        control.down(state)
        left = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
        imgs = subprocess.run(["podman", "images", "--format", "{{.Repository}}"], capture_output=True, text=True).stdout
        assert not [n for n in left.split() if n.startswith(PREFIX)], left
        assert IMAGE_PREFIX not in imgs


def api(pve: dict[str, Any], token: bool = False) -> ProxmoxAPI:
    os.environ["REQUESTS_CA_BUNDLE"] = pve["ca"]
    if token:
        return ProxmoxAPI("127.0.0.1", port=PORT, user="root@pam", token_name="s4",
                          token_value=pve["creds"]["root@pam!s4"], verify_ssl=True)
    return ProxmoxAPI("127.0.0.1", port=PORT, user="root@pam", password=pve["creds"]["root@pam"], verify_ssl=True)


def wait_task(px: ProxmoxAPI, upid: str, timeout: float = 120) -> tuple[str, list[str]]:
    deadline = time.monotonic() + timeout
    node = px.nodes("pve")
    while time.monotonic() < deadline:
        st = node.tasks(upid).status.get()
        if st["status"] == "stopped":
            return st["exitstatus"], [line["t"] for line in node.tasks(upid).log.get(limit=500)]
        time.sleep(0.3)
    raise AssertionError(f"task {upid} still running after {timeout}s")


def ansible_env(pve: dict[str, Any], token: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PATH": f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}",
        "REQUESTS_CA_BUNDLE": pve["ca"], "CURL_CA_BUNDLE": pve["ca"],
        "PROXMOX_HOST": "127.0.0.1", "PROXMOX_PORT": str(PORT), "PROXMOX_USER": "root@pam",
        "PROXMOX_VALIDATE_CERTS": "true",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    })
    if token:
        env.update({"PROXMOX_TOKEN_ID": "s4", "PROXMOX_TOKEN_SECRET": pve["creds"]["root@pam!s4"]})
    else:
        env["PROXMOX_PASSWORD"] = pve["creds"]["root@pam"]
    return env


def playbook(pve: dict[str, Any], tmp: Path, tasks: list[dict[str, Any]], token: bool = False
             ) -> dict[str, dict[str, Any]]:
    """Run ``tasks`` on localhost; return each task's result by name (fails the test on a failed task)."""
    book = [{"name": "pve", "hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
    path = tmp / f"play-{time.monotonic_ns()}.yml"
    path.write_text(json.dumps(book))
    proc = subprocess.run([str(ROOT / ".venv/bin/ansible-playbook"), "-i", "localhost,", str(path),
                           "-e", f"ansible_python_interpreter={ROOT / '.venv/bin/python'}"], cwd=ROOT,
                          env=ansible_env(pve, token), capture_output=True, text=True, timeout=600)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook output is not JSON:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}") from None
    results = {t["task"]["name"]: t["hosts"]["localhost"] for t in out["plays"][0]["tasks"]}
    failed = {n: r.get("msg") for n, r in results.items() if r.get("failed")}
    assert proc.returncode == 0 and not failed, f"{failed}\n{proc.stderr[-2000:]}"
    return results


def unsafe_plain(value: Any) -> Any:
    """ansible-inventory --list marks strings as ``{"__ansible_unsafe": s}``; unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unsafe_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsafe_plain(v) for v in value]
    return value


def kvm(title: str, **args: Any) -> dict[str, Any]:
    return {"name": title, "community.proxmox.proxmox_kvm": {"node": "pve", **args}}


# ------------------------------------------------------------------------------------------------ proxmoxer


def test_proxmoxer_password_and_token(pve: dict[str, Any]) -> None:
    for token in (False, True):
        px = api(pve, token)
        assert int(px.version.get()["version"].split(".")[0]) >= 8
        vms = {r["vmid"]: r for r in px.cluster.resources.get(type="vm")}
        assert vms[9000]["template"] == 1 and vms[9000]["name"] == "debian13-template"
        assert isinstance(px.cluster.nextid.get(), str)
        assert px.nodes.get()[0]["type"] == "node"
    # ticket renewal: the current ticket is accepted as the password and the old ticket stays valid
    login = requests.post(f"{pve['base']}/access/ticket",
                          data={"username": "root@pam", "password": pve["creds"]["root@pam"]}, verify=pve["ca"], timeout=5)
    assert login.status_code == 200 and "NeedTFA" not in login.json()["data"]
    old = login.json()["data"]["ticket"]
    renewed = requests.post(f"{pve['base']}/access/ticket", data={"username": "root@pam", "password": old},
                            verify=pve["ca"], timeout=5)
    assert renewed.status_code == 200 and "Set-Cookie" not in renewed.headers
    assert requests.get(f"{pve['base']}/version", cookies={"PVEAuthCookie": old}, verify=pve["ca"],
                        timeout=5).status_code == 200


def test_bad_requests(pve: dict[str, Any]) -> None:
    px = api(pve)
    node = px.nodes("pve")
    with pytest.raises(ResourceException) as exc:
        node.qemu(9000).config.put(frobnicate=1)
    assert exc.value.status_code == 400 and "frobnicate" in exc.value.errors
    with pytest.raises(ResourceException) as exc:
        node.qemu(9000).clone.post(newid=VM_A, full=True)  # proxmoxer sends Python True as 'True'
    assert exc.value.status_code == 400 and exc.value.errors == {"full": "type check ('boolean') failed - got 'True'"}
    with pytest.raises(ResourceException) as exc:
        node.qemu.post(name="novmid", memory=512)
    assert exc.value.status_code == 400 and exc.value.errors == {"vmid": "property is missing and it is not optional"}
    with pytest.raises(ResourceException) as exc:
        node.qemu(9000).clone.post(newid=9001)
    assert exc.value.status_code == 500 and "unable to create VM 9001: config file already exists" in str(exc.value)
    with pytest.raises(ResourceException) as exc:
        node.qemu(4242).config.get()
    assert exc.value.status_code == 500 and "qemu-server/4242.conf' does not exist" in str(exc.value)
    with pytest.raises(ResourceException) as exc:
        node.qemu(9000).config.put(sshkeys="ssh-ed25519 AAAA raw@key")
    assert exc.value.status_code == 400 and "invalid urlencoded string" in exc.value.errors["sshkeys"]
    with pytest.raises(AuthenticationError):
        ProxmoxAPI("127.0.0.1", port=PORT, user="root@pam", password="wrong", verify_ssl=True)
    base, ca = pve["base"], pve["ca"]
    r = requests.post(f"{base}/access/ticket", data={"username": "root@pam", "password": "wrong"}, verify=ca, timeout=5)
    assert (r.status_code, r.json()) == (401, {"data": None, "message": "authentication failure\n"})
    r = requests.get(f"{base}/version", verify=ca, timeout=5)
    assert (r.status_code, r.reason, r.content) == (401, "No ticket", b"")
    auth = Authority(pve["state"])
    expired = auth.make_ticket("root@pam", now=time.time() - 7300)
    forged = auth.make_ticket("root@pam")[:-6] + "AAAAA="
    for bad in (expired, forged):
        r = requests.get(f"{base}/version", cookies={"PVEAuthCookie": bad}, verify=ca, timeout=5)
        assert (r.status_code, r.reason) == (401, "Authentication failed!")
    ticket = auth.make_ticket("root@pam")
    r = requests.put(f"{base}/nodes/pve/qemu/9000/config", data={"description": "x"},
                     cookies={"PVEAuthCookie": ticket}, verify=ca, timeout=5)
    assert (r.status_code, r.reason) == (401, "Permission denied - invalid csrf token")
    r = requests.get(f"{base}/version", headers={"Authorization": "PVEAPIToken=root@pam!s4=00000000-bad"},
                     verify=ca, timeout=5)
    assert r.status_code == 401
    # a privilege-separated auditor token may look but not create
    ro = ProxmoxAPI("127.0.0.1", port=PORT, user="auditor@pve", token_name="ro",
                    token_value=pve["creds"]["auditor@pve!ro"], verify_ssl=True)
    assert any(r["vmid"] == 9000 for r in ro.cluster.resources.get(type="vm"))
    with pytest.raises(ResourceException) as exc:
        ro.nodes("pve").qemu(9000).clone.post(newid=VM_LOCK, name="nope")
    assert exc.value.status_code == 403 and "Permission check failed" in str(exc.value)
    with pytest.raises(ResourceException) as exc:
        ro.nodes("pve").qemu.post(vmid=VM_LOCK, name="nope")
    assert exc.value.status_code == 403
    assert px.cluster.nextid.get(vmid=VM_LOCK) == str(VM_LOCK)  # nothing was created


def test_full_clone_locks_and_podman_failure(pve: dict[str, Any]) -> None:
    px = api(pve, token=True)
    node = px.nodes("pve")
    upid = node.qemu(9001).clone.post(newid=VM_LOCK, name="locked", full=1)
    assert upid.startswith("UPID:pve:") and upid.endswith(":qmclone:9001:root@pam!s4:")
    st = node.tasks(upid).status.get()
    assert st["user"] == "root@pam" and st["tokenid"] == "s4"
    # while the full copy runs the new VM exists, locked
    assert node.qemu(VM_LOCK).config.get()["lock"] == "clone"
    with pytest.raises(ResourceException) as exc:
        node.qemu(VM_LOCK).config.put(description="x")
    assert exc.value.status_code == 500 and "VM is locked (clone)" in str(exc.value)
    status, lines = wait_task(px, upid)
    assert status == "OK", lines
    cfg = node.qemu(VM_LOCK).config.get()
    assert "lock" not in cfg and cfg["scsi0"].startswith(f"local-lvm:vm-{VM_LOCK}-disk-0")
    # a podman failure inside start: a static address outside the lab network cannot be applied
    node.qemu(VM_LOCK).config.put(ipconfig0="ip=192.0.2.10/24,gw=192.0.2.1")
    status, lines = wait_task(px, node.qemu(VM_LOCK).status.start.post())
    assert status != "OK" and lines[-1].startswith("TASK ERROR: ") and "podman" in lines[-1], lines
    assert node.qemu(VM_LOCK).status.current.get()["status"] == "stopped"
    status, lines = wait_task(px, node.qemu(VM_LOCK).delete())
    assert status == "OK", lines
    assert subprocess.run(["podman", "container", "exists", f"{PREFIX}{VM_LOCK}"]).returncode != 0


def test_podman_failure_during_clone_leaves_nothing(pve: dict[str, Any]) -> None:
    px = api(pve)
    node = px.nodes("pve")
    # occupy the container name the clone will need, so podman create fails inside the task
    blocker = f"{PREFIX}{VM_LOCK}"
    subprocess.run(["podman", "create", "--name", blocker, f"{topology.IMAGE_REPO}/base-trixie:latest", "true"],
                   check=True, capture_output=True)
    try:
        status, lines = wait_task(px, node.qemu(9000).clone.post(newid=VM_LOCK, name="doomed", full=0))
        assert status != "OK" and "podman create failed" in lines[-1], lines
        assert all(r["vmid"] != VM_LOCK for r in px.cluster.resources.get(type="vm"))
    finally:
        subprocess.run(["podman", "rm", "-f", blocker], capture_output=True)


# ------------------------------------------------------------------------------------------- ansible modules


def ssh(pve: dict[str, Any], user: str, ip: str, command: str, wait: float = 90) -> subprocess.CompletedProcess[str]:
    """Run ``command`` over SSH. A VM that was just started may not have its sshd up yet (as on real Proxmox, the
    start task ends before the guest has booted): connection failures are retried for up to ``wait`` seconds;
    any other result (authentication refused, the command's own status) is returned at once."""
    deadline = time.monotonic() + wait
    while True:
        r = subprocess.run(
            ["ssh", "-i", str(pve["key"]), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", f"{user}@{ip}", command],
            capture_output=True, text=True, timeout=60)
        if r.returncode != 255 or "connect to host" not in r.stderr or time.monotonic() > deadline:
            return r
        time.sleep(2)


def test_modules_inventory_and_ssh(pve: dict[str, Any], tmp_path: Path) -> None:
    create = [
        kvm("clone by name", clone="debian13-template", newid=VM_A, name="pvet-a", full=False, timeout=60),
        kvm("clone by vmid", clone="ignored", vmid=9001, newid=VM_B, name="pvet-b", full=True, timeout=90),
        kvm("cloud-init a", vmid=VM_A, update=True, ciuser="debian", sshkeys=pve["pubkey"],
            ipconfig={"ipconfig0": f"ip={IP_A}/24,gw={topology.GATEWAY}"}, nameservers=[topology.GATEWAY],
            searchdomains=["lab.example"], cipassword="Secret-1"),
        kvm("cloud-init b", vmid=VM_B, update=True, sshkeys=pve["pubkey"], ipconfig={"ipconfig0": "ip=dhcp"}),
        # the module's default wait (30 s) is shorter than a lab VM's boot on a loaded 2-core machine. proxmox_kvm
        # waits out its timeout on a task that failed (it only ends on exitstatus OK): the emulator's task log
        # (start/boot durations, the podman error) is where a failed start says why
        kvm("start a", vmid=VM_A, state="started", timeout=180),
        kvm("start b", name="pvet-b", state="started", timeout=180),
    ]
    first = playbook(pve, tmp_path, create)
    assert first["clone by name"]["changed"] and first["clone by vmid"]["changed"]
    assert first["start a"]["changed"] and first["start b"]["changed"]
    again = playbook(pve, tmp_path, create, token=True)
    assert not again["clone by name"]["changed"] and not again["clone by vmid"]["changed"]
    assert not again["start a"]["changed"] and not again["start b"]["changed"]

    info = playbook(pve, tmp_path, [{
        "name": "info", "register": "info", "until": "info.proxmox_vms | length == 1",
        "retries": 10, "delay": 2,
        "community.proxmox.proxmox_vm_info": {"node": "pve", "vmid": VM_A, "network": True, "config": "current"}}])["info"]
    vm = info["proxmox_vms"][0]
    assert vm["name"] == "pvet-a" and vm["status"] == "running"
    eth0 = [i for i in vm["network"] if i["name"] == "eth0"][0]
    assert IP_A in [a["ip-address"] for a in eth0["ip-addresses"]]
    assert vm["config"]["ciuser"] == "debian" and vm["config"]["cipassword"] == "**********"

    # the key and the static address really apply: ssh in as the cloud-init user
    r = ssh(pve, "debian", IP_A, "id -un; hostname; grep -c lab.example /etc/resolv.conf; sudo -n id -u")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["debian", "pvet-a", "1", "0"]
    shadow = subprocess.run(["podman", "exec", f"{PREFIX}{VM_A}", "getent", "shadow", "debian"],
                            capture_output=True, text=True).stdout
    assert shadow.split(":")[1].startswith("$5$")  # the password is set, hashed

    # the inventory plugin finds both VMs and the agent addresses (password and token auth)
    for token in (False, True):
        inv = tmp_path / f"lab{int(token)}.proxmox.yml"
        cfg: dict[str, Any] = {"plugin": "community.proxmox.proxmox", "url": f"https://127.0.0.1:{PORT}",
                               "user": "root@pam", "validate_certs": True, "want_facts": True}
        if token:
            cfg.update({"token_id": "s4", "token_secret": pve["creds"]["root@pam!s4"]})
        else:
            cfg["password"] = pve["creds"]["root@pam"]
        inv.write_text(json.dumps(cfg))
        proc = subprocess.run([str(ROOT / ".venv/bin/ansible-inventory"), "-i", str(inv), "--list"], cwd=ROOT,
                              env=ansible_env(pve), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        data = unsafe_plain(json.loads(proc.stdout))
        hostvars = data["_meta"]["hostvars"]
        assert {"pvet-a", "pvet-b"} <= set(data["proxmox_all_running"]["hosts"])
        ifaces = hostvars["pvet-a"]["proxmox_agent_interfaces"]
        assert any(f"{IP_A}/24" in i["ip-addresses"] for i in ifaces)
        b_ips = [ip for i in hostvars["pvet-b"]["proxmox_agent_interfaces"] if i["name"] == "eth0"
                 for ip in i["ip-addresses"] if "." in ip]
        lo, hi = (int(x.rsplit(".", 1)[1]) for x in topology.POC_RANGE)
        assert len(b_ips) == 1 and lo <= int(b_ips[0].split("/")[0].rsplit(".", 1)[1]) <= hi  # dhcp lease

    # snapshots keep real filesystem state
    assert ssh(pve, "debian", IP_A, "echo before > ~/marker").returncode == 0
    snap = {"vmid": str(VM_A), "snapname": "pre", "description": "before change"}
    res = playbook(pve, tmp_path, [
        {"name": "snap", "community.proxmox.proxmox_snap": {**snap, "state": "present"}},
        {"name": "snap again", "community.proxmox.proxmox_snap": {**snap, "state": "present"}},
    ])
    assert res["snap"]["changed"] and not res["snap again"]["changed"]
    assert ssh(pve, "debian", IP_A, "echo after > ~/marker").returncode == 0
    res = playbook(pve, tmp_path, [
        {"name": "rollback", "community.proxmox.proxmox_snap": {**snap, "state": "rollback"}},
        kvm("start after rollback", vmid=VM_A, state="started", timeout=180),
    ])
    assert res["rollback"]["changed"] and res["start after rollback"]["changed"]
    r = ssh(pve, "debian", IP_A, "cat ~/marker")
    assert r.returncode == 0 and r.stdout.strip() == "before", r.stderr
    res = playbook(pve, tmp_path, [
        {"name": "unsnap", "community.proxmox.proxmox_snap": {**snap, "state": "absent"}},
        {"name": "unsnap again", "community.proxmox.proxmox_snap": {**snap, "state": "absent"}},
    ])
    assert res["unsnap"]["changed"] and not res["unsnap again"]["changed"]

    # state survives a server restart: no VM forgotten, no container orphaned
    control.stop_server(pve["state"])
    control.up(pve["state"])
    px = api(pve)
    assert px.nodes("pve").qemu(VM_A).status.current.get()["status"] == "running"

    teardown = [
        kvm("stop a", vmid=VM_A, state="stopped", force=True, timeout=30),
        kvm("stop a again", vmid=VM_A, state="stopped"),
        kvm("stop b", vmid=VM_B, state="stopped", force=True, timeout=30),
        kvm("remove a", vmid=VM_A, state="absent"),
        kvm("remove b", name="pvet-b", state="absent"),
        kvm("remove a again", vmid=VM_A, state="absent"),
    ]
    res = playbook(pve, tmp_path, teardown)
    assert res["stop a"]["changed"] and not res["stop a again"]["changed"]
    assert res["remove a"]["changed"] and res["remove b"]["changed"] and not res["remove a again"]["changed"]
    for vmid in (VM_A, VM_B):
        assert subprocess.run(["podman", "container", "exists", f"{PREFIX}{vmid}"]).returncode != 0
