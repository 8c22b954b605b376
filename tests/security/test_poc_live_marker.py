"""Issue #13 finding 10: state that decides destruction.

"Live" used to be known only from an inventory file (``<poc>.golive.yml``) and the VM was found by name only: a
teardown run with another ``-i`` destroyed the VM the source proxies to, and a client's own VM named like a POC
could be reconfigured or destroyed. Now the go-live marker is on the VM (tag ``s4-live`` + a description line) and
on the source (the switch's state.json), and ``smartt.s4.poc_vm`` refuses any VM without the ``s4-poc`` tag or with
another vmid than the POC recorded.

The module tests use the in-memory fake Proxmox of tests/unit/poc; the playbook tests run poc_teardown.yml (with an
inventory of their own, without the POC's entry or golive file) against the lab's Proxmox-compatible API server
(s4/pve) started in-process on a loopback port: no lab, no containers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT / ".collections", ROOT / "tests" / "unit"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from ansible.module_utils import _internal as _ansible_internal  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.smartt.s4.plugins.module_utils import s4_pve  # noqa: E402
from ansible_collections.smartt.s4.plugins.modules import poc_vm  # noqa: E402
from poc.fakepve import FakePve  # noqa: E402

from s4.pve import auth, tls  # noqa: E402
from s4.pve.api import Api  # noqa: E402
from s4.pve.server import serving  # noqa: E402
from s4.pve.state import State, new_record  # noqa: E402
from s4.pve.tasks import TaskRunner  # noqa: E402

NAME = "poc-acme-acme-blog"


def run_module(monkeypatch: pytest.MonkeyPatch, fake: FakePve, capsys: pytest.CaptureFixture[str],
               **args: Any) -> dict[str, Any]:
    monkeypatch.setattr(poc_vm, "connect", lambda p: fake)
    monkeypatch.setattr(poc_vm.PocVm.__init__, "__defaults__", ("pve", lambda s: None, s4_pve.time.monotonic, 120))
    # module warnings go into the result only on the target side: an earlier test of this process may have
    # loaded controller code, which turns warn() into a Display warning
    monkeypatch.setattr(_ansible_internal, "is_controller", False)
    base = {"name": NAME, "template": 9000, "tags": ["s4-poc", "client-acme"], "gateway": "10.89.40.1",
            "sshkeys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5 operator@s4", "wait_timeout": 30}
    base.update(args)
    with patch_module_args(base), pytest.raises(SystemExit):
        poc_vm.main()
    return dict(json.loads(capsys.readouterr().out))


def client_vm(fake: FakePve, vmid: int = 150, tags: str = "") -> None:
    """A client's own running production VM that happens to carry the POC's name."""
    conf = {"name": NAME, "agent": "1", "ipconfig0": "ip=10.89.40.150/24", "description": "client production"}
    if tags:
        conf["tags"] = tags
    fake.vms[vmid] = {"vmid": vmid, "status": "running", "conf": conf}


# ------------------------------------------------------------------------------------------------ poc_vm module
def test_client_vm_named_like_the_poc_without_s4_poc_tag_cannot_be_destroyed(monkeypatch, capsys) -> None:
    fake = FakePve()
    client_vm(fake, tags="production")
    res = run_module(monkeypatch, fake, capsys, state="absent", template=None)
    assert res["failed"] and res["step"] == "guard" and "has no s4-poc tag" in res["msg"], res
    assert fake.changing_calls() == [] and fake.vms[150]["status"] == "running"


def test_client_vm_named_like_the_poc_without_s4_poc_tag_cannot_be_reconfigured_or_marked(monkeypatch, capsys) -> None:
    fake = FakePve()
    client_vm(fake)
    before = dict(fake.vms[150]["conf"])
    for state in ("present", "live", "not_live", "info"):
        res = run_module(monkeypatch, fake, capsys, state=state)
        assert res.get("failed") and "has no s4-poc tag" in res["msg"], (state, res)
    assert fake.changing_calls() == [] and fake.vms[150]["conf"] == before


def test_tagged_vm_with_another_vmid_than_recorded_cannot_be_destroyed_or_changed(monkeypatch, capsys) -> None:
    fake = FakePve()
    client_vm(fake, vmid=150, tags="s4-poc")  # e.g. a POC of the same name made elsewhere; ours was 120
    for state in ("absent", "present", "live", "not_live"):
        res = run_module(monkeypatch, fake, capsys, state=state, vmid=120)
        assert res.get("failed") and "recorded vmid 120" in res["msg"], (state, res)
    assert fake.changing_calls() == [] and 150 in fake.vms


def test_recorded_vmid_reused_by_another_vm_is_left_alone_by_teardown(monkeypatch, capsys) -> None:
    fake = FakePve()
    fake.vms[120] = {"vmid": 120, "status": "running", "conf": {"name": "client-db", "tags": "s4-poc"}}
    res = run_module(monkeypatch, fake, capsys, state="absent", template=None, vmid=120)
    assert res["changed"] is False and 120 in fake.vms and fake.changing_calls() == []
    assert "was left alone" in json.dumps(res.get("warnings", []))


@pytest.mark.parametrize("marker", ["tag", "description"])
def test_live_poc_vm_cannot_be_destroyed_or_recopied_whichever_marker_remains(monkeypatch, capsys, marker) -> None:
    fake = FakePve()
    vmid = run_module(monkeypatch, fake, capsys)["vmid"]
    run_module(monkeypatch, fake, capsys, state="live", template=None)
    conf = fake.vms[vmid]["conf"]
    if marker == "tag":  # someone edited the description in the Proxmox UI: the tag alone still counts
        conf.pop("description")
    else:  # someone removed the tag: the description line alone still counts
        conf["tags"] = "client-acme;s4-poc"
    fake.calls.clear()
    gone = run_module(monkeypatch, fake, capsys, state="absent", template=None, vmid=vmid)
    assert gone["failed"] and "is marked live" in gone["msg"] and "Roll back first" in gone["msg"], gone
    again = run_module(monkeypatch, fake, capsys)
    assert again["failed"] and "is marked live" in again["msg"], again
    assert fake.changing_calls() == [] and fake.vms[vmid]["status"] == "running"


# ------------------------------------------------------------------------------- poc_teardown.yml, other -i
class _NoContainers:
    """The lab server's backend for VMs without containers: nothing runs, nothing is ever started."""

    def states(self) -> dict[str, str]:
        return {}


@pytest.fixture
def pve(tmp_path: Path) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path / "pve"
    auth.init_realm(state_dir, root_password="lab-secret")
    tls.ensure_certificates(state_dir)
    state = State(state_dir, image_prefix="localhost/s4pvelive")
    api = Api(state, _NoContainers(), TaskRunner(state_dir, "pve"),  # type: ignore[arg-type]
              container_prefix="s4pvelive-")
    secrets = auth.read_secrets(state_dir)
    with serving(api, state_dir) as port:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PVE_", "ANSIBLE_"))}
        env.update(PVE_HOST="127.0.0.1", PVE_PORT=str(port), PVE_CA=str(state_dir / "ca.pem"), PVE_USER="root@pam",
                   PVE_TOKEN_ID="s4", PVE_TOKEN_SECRET=secrets["root@pam!s4"],
                   ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
        yield {"state": state, "env": env, "tmp": tmp_path}


def seed_vm(state: State, vmid: int, tags: str, description: str = "Debian 13 (trixie) lab image") -> None:
    state.put(new_record(vmid, {"name": NAME, "agent": "1", "memory": "2048", "cores": 2, "tags": tags,
                                "ipconfig0": f"ip=10.89.40.{vmid - 20}/24", "description": description}))


def teardown_with_other_inventory(pve: dict[str, Any], *extra: str) -> tuple[int, str]:
    """poc_teardown.yml with an inventory that holds neither the POC's entry nor its golive file."""
    inv = pve["tmp"] / "elsewhere.yml"
    inv.write_text("all:\n  hosts: {}\n")
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), "playbooks/poc_teardown.yml",
           "-e", f"s4_poc_name={NAME}", *extra]
    p = subprocess.run(cmd, cwd=ROOT, env=pve["env"], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout + p.stderr


def test_teardown_with_another_inventory_cannot_destroy_a_vm_tagged_live(pve: dict[str, Any]) -> None:
    seed_vm(pve["state"], 120, "s4-poc;client-acme;src-mvps-acme-01;s4-live",
            f"Debian 13 (trixie) lab image\ns4-live: {NAME} is live, the source proxies its sites to it")
    rc, out = teardown_with_other_inventory(pve)
    assert rc != 0 and "is marked live on Proxmox" in out and "Nothing was removed" in out, out[-3000:]
    assert pve["state"].get(120) is not None


def test_teardown_with_another_inventory_cannot_destroy_a_vm_whose_live_line_remains(pve: dict[str, Any]) -> None:
    seed_vm(pve["state"], 120, "s4-poc;client-acme", f"s4-live: {NAME} is live")  # tag removed by hand
    rc, out = teardown_with_other_inventory(pve, "-e", "s4_poc_vmid=120")
    assert rc != 0 and "is marked live on Proxmox" in out, out[-3000:]
    assert pve["state"].get(120) is not None


def test_teardown_with_another_inventory_cannot_skip_the_source_go_live_check(pve: dict[str, Any]) -> None:
    seed_vm(pve["state"], 120, "s4-poc;client-acme;src-mvps-acme-01")  # no VM marker: the source may still say live
    rc, out = teardown_with_other_inventory(pve)
    assert rc != 0 and "cannot be checked" in out and "Nothing was removed" in out, out[-3000:]
    assert pve["state"].get(120) is not None


def test_teardown_cannot_destroy_a_client_vm_named_like_the_poc(pve: dict[str, Any]) -> None:
    seed_vm(pve["state"], 120, "production", "client production")
    rc, out = teardown_with_other_inventory(pve)
    assert rc != 0 and "has no s4-poc tag" in out, out[-3000:]
    assert pve["state"].get(120) is not None


def test_teardown_cannot_destroy_a_tagged_vm_with_another_vmid_than_given(pve: dict[str, Any]) -> None:
    seed_vm(pve["state"], 121, "s4-poc;client-acme")
    rc, out = teardown_with_other_inventory(pve, "-e", "s4_poc_vmid=120")
    assert rc != 0 and "recorded vmid 120" in out, out[-3000:]
    assert pve["state"].get(121) is not None


# ------------------------------------------------------------------------------------------------ on the lab
def _lab_api() -> Any:
    from poc_support import pve_env  # tests/integration, on sys.path through tests/conftest.py
    from proxmoxer import ProxmoxAPI

    env = pve_env()
    return ProxmoxAPI(env["PVE_HOST"], port=int(env["PVE_PORT"]), user=env["PVE_USER"],
                      token_name=env["PVE_TOKEN_ID"], token_value=env["PVE_TOKEN_SECRET"], verify_ssl=env["PVE_CA"])


@pytest.mark.integration
def test_lab_teardown_with_the_cmdb_only_cannot_destroy_the_acme_poc_tagged_live(acme: Any) -> None:
    """The session's acme POC, tagged live through the Proxmox API (as the switch does): poc_teardown.yml run with
    an inventory that lacks the POC's entry and golive file (-i the CMDB alone) is refused, the VM stays."""
    from poc_support import playbook, podman_names, vm_container

    assert acme.vmid is not None
    vm = _lab_api().nodes("pve").qemu(acme.vmid)
    tags = str(vm.config.get().get("tags", ""))
    vm.config.put(tags=tags + ";s4-live")
    try:
        rc, out, _ = playbook("poc_teardown.yml", "-i", str(ROOT / "inventories" / "lab" / "cmdb.yml"),
                              "-e", f"s4_poc_name={acme.name}")
        assert rc != 0 and "is marked live on Proxmox" in out, out[-3000:]
        rc, out, _ = playbook("poc_provision.yml", *acme.extra)
        assert rc != 0 and "is marked live on Proxmox" in out, out[-3000:]
    finally:
        vm.config.put(tags=tags)
    assert vm_container(acme.vmid) in podman_names()


@pytest.mark.integration
def test_lab_teardown_and_sync_are_refused_while_the_source_holds_the_go_live_state(acme: Any, ssh: Any) -> None:
    """The source's state.json (left by a switch) alone stops the teardown and the sync, even with the POC's
    golive file gone and no marker on the VM."""
    from poc_support import playbook, podman_names, vm_container

    assert acme.vmid is not None
    d = f"/var/lib/s4-golive/{acme.name}"
    had_root = ssh(acme.source, "test -d /var/lib/s4-golive", check=False).returncode == 0
    ssh(acme.source, f"mkdir -p {d} && echo '{{}}' > {d}/state.json")
    try:
        rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={acme.name}")
        assert rc != 0 and "holds the go-live state" in out and "Nothing was removed" in out, out[-3000:]
        rc, out, recap = playbook("poc_provision.yml", *acme.extra)
        assert rc != 0 and "holds the go-live state" in out and acme.name not in recap, out[-3000:]
    finally:
        ssh(acme.source, f"rm -rf {d}" + ("" if had_root else " && rmdir /var/lib/s4-golive"))
    assert vm_container(acme.vmid) in podman_names()
