"""smartt.s4.poc_vm and its module_utils against an in-memory Proxmox API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.smartt.s4.plugins.module_utils import s4_pve
from ansible_collections.smartt.s4.plugins.modules import poc_vm

from .fakepve import FakePve

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5 operator@s4"


def run_module(monkeypatch: pytest.MonkeyPatch, fake: FakePve, capsys: pytest.CaptureFixture[str], **args: Any) -> dict[str, Any]:
    monkeypatch.setattr(poc_vm, "connect", lambda p: fake)
    monkeypatch.setattr(s4_pve.time, "sleep", lambda s: None)
    monkeypatch.setattr(poc_vm.PocVm.__init__, "__defaults__", ("pve", lambda s: None, s4_pve.time.monotonic, 120))
    base = {"name": "poc-acme-acme-blog", "template": 9000, "tags": ["s4-poc", "client-acme"], "sshkeys": KEY,
            "gateway": "10.89.40.1", "wait_timeout": 30}
    base.update(args)
    with patch_module_args(base), pytest.raises(SystemExit):
        poc_vm.main()
    return json.loads(capsys.readouterr().out)


def test_pool_allocation_skips_used_and_fails_when_full() -> None:
    assert s4_pve.allocate("10.0.0.100-10.0.0.102", {"10.0.0.100"}) == "10.0.0.101"
    with pytest.raises(s4_pve.PveError, match="no free address"):
        s4_pve.allocate("10.0.0.100-10.0.0.101", {"10.0.0.100", "10.0.0.101"})
    with pytest.raises(s4_pve.PveError, match="invalid address pool"):
        s4_pve.parse_pool("10.0.0.9-banana")


def test_ipconfig_and_tags_normalisation() -> None:
    assert s4_pve.ipconfig_ip("ip=10.1.2.3/24,gw=10.1.2.1") == "10.1.2.3"
    assert s4_pve.ipconfig_ip("ip=dhcp") is None
    assert s4_pve.config_changes({"tags": "b;a"}, {"tags": "a;b"}) == {}
    ch = s4_pve.config_changes({"sshkeys": "ssh-ed25519%20AAA%20x%0A"}, {"sshkeys": "ssh-ed25519 AAA y"})
    assert ch["sshkeys"] == "ssh-ed25519%20AAA%20y%0A"


def test_first_run_clones_configures_starts_and_waits(monkeypatch, capsys) -> None:
    fake = FakePve(agent_after=3)
    fake.vms[150] = {"vmid": 150, "status": "running", "conf": {"name": "other", "ipconfig0": "ip=10.89.40.100/24"}}
    res = run_module(monkeypatch, fake, capsys)
    assert res["changed"] is True and res["created"] is True
    assert res["address"] == "10.89.40.101"  # .100 is taken by another VM
    vm = fake.vms[res["vmid"]]
    assert vm["status"] == "running"
    assert vm["conf"]["ipconfig0"] == "ip=10.89.40.101/24,gw=10.89.40.1"
    assert vm["conf"]["ciuser"] == "root" and vm["conf"]["tags"] == "client-acme;s4-poc"
    assert "sshkeys" not in json.dumps(res["config_changes"]).replace('"sshkeys": "<changed>"', "")


def test_rerun_reuses_the_vm_and_changes_nothing(monkeypatch, capsys) -> None:
    fake = FakePve()
    first = run_module(monkeypatch, fake, capsys)
    fake.calls.clear()
    second = run_module(monkeypatch, fake, capsys)
    assert second["changed"] is False and second["vmid"] == first["vmid"]
    assert second["address"] == first["address"]
    assert fake.changing_calls() == []


def test_check_mode_changes_nothing(monkeypatch, capsys) -> None:
    fake = FakePve()
    res = run_module(monkeypatch, fake, capsys, _ansible_check_mode=True)
    assert res["changed"] is True and res["vmid"] is None
    assert fake.changing_calls() == [] and set(fake.vms) == {9000}


def test_missing_template_fails_before_any_change(monkeypatch, capsys) -> None:
    fake = FakePve()
    res = run_module(monkeypatch, fake, capsys, template=9100)
    assert res["failed"] and "template 9100 does not exist" in res["msg"] and res["step"] == "template"
    assert fake.changing_calls() == []


def test_info_state_reads_only(monkeypatch, capsys) -> None:
    fake = FakePve()
    res = run_module(monkeypatch, fake, capsys, state="info")
    assert res["changed"] is False and res["status"] == "absent" and res["template"]["vmid"] == 9000
    assert fake.changing_calls() == []


def test_absent_stops_and_destroys_then_is_idempotent(monkeypatch, capsys) -> None:
    fake = FakePve()
    created = run_module(monkeypatch, fake, capsys)
    gone = run_module(monkeypatch, fake, capsys, state="absent", template=None)
    assert gone["changed"] is True and created["vmid"] not in fake.vms
    again = run_module(monkeypatch, fake, capsys, state="absent", template=None)
    assert again["changed"] is False


def test_duplicate_names_are_refused(monkeypatch, capsys) -> None:
    fake = FakePve()
    for vmid in (101, 102):
        fake.vms[vmid] = {"vmid": vmid, "status": "stopped", "conf": {"name": "poc-acme-acme-blog"}}
    res = run_module(monkeypatch, fake, capsys)
    assert res["failed"] and "2 VMs are named poc-acme-acme-blog" in res["msg"]


def test_agent_never_answering_times_out_with_the_reason() -> None:
    fake = FakePve(agent_after=10**9)
    clock = iter(range(0, 10**6, 5))
    ops = s4_pve.PocVm(fake, sleep=lambda s: None, clock=lambda: next(clock))
    vmid = ops.clone(9000, "x")
    ops.set_config(vmid, {"ipconfig0": "ip=10.89.40.120/24"})
    ops.start(vmid)
    with pytest.raises(s4_pve.PveError, match="no guest agent address.*agent is not running"):
        ops.agent_address(vmid, 30)


def test_connect_needs_credentials(monkeypatch) -> None:
    for var in ("PVE_HOST", "PVE_USER", "PVE_PASSWORD", "PVE_TOKEN_ID", "PVE_TOKEN_SECRET"):
        monkeypatch.delenv(var, raising=False)
    params = {k: None for k in poc_vm.module_args()}
    params.update(validate_certs=True, api_host="127.0.0.1")
    with pytest.raises(s4_pve.PveError, match="no Proxmox credentials"):
        poc_vm.connect(params)


class PausingPve(FakePve):
    """FakePve with Proxmox's view of a paused VM: status running, qmpstatus paused, agent silent until resumed."""

    def get(self, path: str, **kw: Any) -> Any:
        p = path.split("/")
        vm = self.vms.get(int(p[3])) if len(p) > 4 and p[2] == "qemu" else None
        if vm is not None and vm.get("paused"):
            if p[4:] == ["status", "current"]:
                self.calls.append(("get", path, kw))
                return {"status": "running", "qmpstatus": "paused"}
            if p[4:] == ["agent", "network-get-interfaces"]:
                self.calls.append(("get", path, kw))
                raise AssertionError("the agent of a paused VM never answers")
        return super().get(path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        p = path.split("/")
        if p[4:] == ["status", "resume"]:
            self.calls.append(("post", path, kw))
            self.vms[int(p[3])]["paused"] = False
            return self._task()
        return super().post(path, **kw)


def test_rerun_starts_a_vm_found_stopped_and_keeps_its_address(monkeypatch, capsys) -> None:
    fake = FakePve()
    first = run_module(monkeypatch, fake, capsys)
    fake.vms[first["vmid"]]["status"] = "stopped"  # an interrupted run: VM stopped mid-copy
    fake.calls.clear()
    again = run_module(monkeypatch, fake, capsys)
    assert again["changed"] is True and again["created"] is False and again["power_action"] == "started"
    assert again["vmid"] == first["vmid"] and again["address"] == first["address"]
    assert again["config_changes"] == {}
    assert [c[1] for c in fake.changing_calls()] == [f"nodes/pve/qemu/{first['vmid']}/status/start"]
    assert fake.vms[first["vmid"]]["status"] == "running"
    settled = run_module(monkeypatch, fake, capsys)
    assert settled["changed"] is False and "power_action" not in settled


def test_rerun_resumes_a_paused_vm_instead_of_waiting_for_its_agent(monkeypatch, capsys) -> None:
    fake = PausingPve()
    first = run_module(monkeypatch, fake, capsys)
    fake.vms[first["vmid"]]["paused"] = True
    fake.calls.clear()
    again = run_module(monkeypatch, fake, capsys)
    assert again["changed"] is True and again["power_action"] == "resumed", again
    assert [c[1] for c in fake.changing_calls()] == [f"nodes/pve/qemu/{first['vmid']}/status/resume"]
    assert again["address"] == first["address"]


def test_check_mode_does_not_start_a_stopped_vm(monkeypatch, capsys) -> None:
    fake = FakePve()
    first = run_module(monkeypatch, fake, capsys)
    fake.vms[first["vmid"]]["status"] = "stopped"
    fake.calls.clear()
    res = run_module(monkeypatch, fake, capsys, _ansible_check_mode=True)
    assert fake.changing_calls() == [] and fake.vms[first["vmid"]]["status"] == "stopped"
    assert res["status"] == "stopped" and res["changed"] is True


def test_every_clone_carries_the_poc_tag_from_its_first_config_write(monkeypatch, capsys) -> None:
    fake = FakePve()
    res = run_module(monkeypatch, fake, capsys, tags=["client-acme"])  # the caller forgot s4-poc
    assert s4_pve.normalize_tags(fake.vms[res["vmid"]]["conf"]["tags"]) == ["client-acme", "s4-poc"]
    puts = [c for c in fake.calls if c[0] == "put"]
    assert puts[0][2] == {"tags": "client-acme;s4-poc"}  # tagged right after the clone, before anything else


def test_live_marker_round_trip_is_idempotent_and_keeps_the_rest_of_the_description(monkeypatch, capsys) -> None:
    fake = FakePve()
    vmid = run_module(monkeypatch, fake, capsys)["vmid"]
    fake.vms[vmid]["conf"]["description"] = "Debian 13 (trixie) lab image x"
    info = run_module(monkeypatch, fake, capsys, state="info")
    assert info["live"] is False and info["tags"] == ["client-acme", "s4-poc"]

    live = run_module(monkeypatch, fake, capsys, state="live", template=None, vmid=vmid)
    conf = fake.vms[vmid]["conf"]
    assert live["changed"] is True and live["live"] is True
    assert s4_pve.normalize_tags(conf["tags"]) == ["client-acme", "s4-live", "s4-poc"]
    assert conf["description"].splitlines()[0] == "Debian 13 (trixie) lab image x"
    assert conf["description"].splitlines()[1].startswith("s4-live: poc-acme-acme-blog is live")
    fake.calls.clear()
    again = run_module(monkeypatch, fake, capsys, state="live", template=None, vmid=vmid)
    assert again["changed"] is False and fake.changing_calls() == []
    info = run_module(monkeypatch, fake, capsys, state="info")
    assert info["live"] is True and info["live_marks"] == {"tag": True, "description": True}

    off = run_module(monkeypatch, fake, capsys, state="not_live", template=None, vmid=vmid)
    assert off["changed"] is True and off["live"] is False
    assert s4_pve.normalize_tags(conf["tags"]) == ["client-acme", "s4-poc"]
    assert conf["description"] == "Debian 13 (trixie) lab image x"
    fake.calls.clear()
    assert run_module(monkeypatch, fake, capsys, state="not_live", template=None)["changed"] is False
    assert fake.changing_calls() == []


def test_not_live_deletes_a_description_that_held_only_the_marker(monkeypatch, capsys) -> None:
    fake = FakePve()
    vmid = run_module(monkeypatch, fake, capsys)["vmid"]
    run_module(monkeypatch, fake, capsys, state="live", template=None)
    assert fake.vms[vmid]["conf"]["description"].startswith("s4-live:")
    res = run_module(monkeypatch, fake, capsys, state="not_live", template=None)
    assert res["config_changes"]["delete"] == "description" and "description" not in fake.vms[vmid]["conf"]


def test_live_check_mode_changes_nothing_and_missing_vm_cannot_be_marked(monkeypatch, capsys) -> None:
    fake = FakePve()
    run_module(monkeypatch, fake, capsys)
    fake.calls.clear()
    res = run_module(monkeypatch, fake, capsys, state="live", template=None, _ansible_check_mode=True)
    assert res["changed"] is True and "tags" in res["config_changes"] and fake.changing_calls() == []
    gone = run_module(monkeypatch, fake, capsys, name="poc-nope", state="live", template=None)
    assert gone["failed"] and "no VM is named poc-nope" in gone["msg"]
    assert run_module(monkeypatch, fake, capsys, name="poc-nope", state="not_live", template=None)["changed"] is False
