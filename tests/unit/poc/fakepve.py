"""An in-memory stand-in for proxmoxer's path-style API, enough for the POC VM logic (clone/config/start/agent)."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import unquote


class ApiError(Exception):
    pass


class FakePve:
    def __init__(self, *, agent_after: int = 2, templates: tuple[int, ...] = (9000,)) -> None:
        self.vms: dict[int, dict[str, Any]] = {}
        for t in templates:
            self.vms[t] = {"vmid": t, "name": f"tmpl-{t}", "template": 1, "status": "stopped",
                           "conf": {"name": f"tmpl-{t}", "agent": "1", "template": 1}}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.agent_after = agent_after
        self._upid = itertools.count(1)
        self.tasks: dict[str, str] = {}

    def _task(self, ok: bool = True) -> str:
        upid = f"UPID:pve:{next(self._upid):08X}:x"
        self.tasks[upid] = "OK" if ok else "error"
        return upid

    def get(self, path: str, **kw: Any) -> Any:
        self.calls.append(("get", path, kw))
        p = path.split("/")
        if path == "version":
            return {"version": "8.4.1"}
        if path == "cluster/resources":  # like Proxmox: tags only when set
            return [{"vmid": v["vmid"], "name": v["conf"].get("name"), "template": v.get("template", 0),
                     "status": v["status"], "node": "pve", "type": "qemu",
                     **({"tags": v["conf"]["tags"]} if v["conf"].get("tags") else {})} for v in self.vms.values()]
        if path == "cluster/nextid":
            return str(max([100, *[v + 1 for v in self.vms if v < 9000]]))
        if p[:2] == ["nodes", "pve"] and p[2] == "tasks":
            return {"status": "stopped", "exitstatus": self.tasks[p[3]]}
        vm = self.vms.get(int(p[3])) if len(p) > 3 and p[2] == "qemu" else None
        if vm is None:
            raise ApiError(f"500 Configuration file 'nodes/pve/qemu-server/{p[3]}.conf' does not exist")
        if p[4:] == ["config"]:
            return dict(vm["conf"])
        if p[4:] == ["status", "current"]:
            return {"status": vm["status"], "qmpstatus": vm["status"]}
        if p[4:] == ["agent", "network-get-interfaces"]:
            if vm["status"] != "running":
                raise ApiError(f"500 VM {vm['vmid']} is not running")
            vm["agent_polls"] = vm.get("agent_polls", 0) + 1
            if vm["agent_polls"] <= self.agent_after:
                raise ApiError("500 QEMU guest agent is not running")
            ip = vm["conf"].get("ipconfig0", "").split(",")[0].removeprefix("ip=").split("/")[0]
            return {"result": [{"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4"}]},
                               {"name": "eth0", "ip-addresses": [{"ip-address": ip, "ip-address-type": "ipv4"}]}]}
        raise ApiError(f"501 Method 'GET /{path}' not implemented")

    def post(self, path: str, **kw: Any) -> Any:
        self.calls.append(("post", path, kw))
        p = path.split("/")
        vmid = int(p[3])
        if p[4:] == ["clone"]:
            if kw["newid"] in self.vms:
                raise ApiError("500 unable to create VM: config file already exists")
            for v in kw.values():
                assert not isinstance(v, bool), "booleans must be sent as 0/1"
            self.vms[kw["newid"]] = {"vmid": kw["newid"], "status": "stopped",
                                     "conf": {"name": kw["name"], "agent": "1"}}
            return self._task()
        if p[4:] == ["status", "start"]:
            self.vms[vmid]["status"] = "running"
            return self._task()
        if p[4:] == ["status", "stop"]:
            self.vms[vmid]["status"] = "stopped"
            return self._task()
        raise ApiError(f"501 Method 'POST /{path}' not implemented")

    def put(self, path: str, **kw: Any) -> Any:
        self.calls.append(("put", path, kw))
        vmid = int(path.split("/")[3])
        if "sshkeys" in kw:
            assert " " not in kw["sshkeys"], "sshkeys must arrive URL-encoded"
            unquote(kw["sshkeys"])
        conf = self.vms[vmid]["conf"]
        for key in [k for k in str(kw.pop("delete", "")).replace(";", ",").split(",") if k]:
            assert key not in kw, f"you can't use '-{key}' and '-delete {key}' at the same time"
            conf.pop(key, None)
        conf.update(kw)
        return None

    def delete(self, path: str, **kw: Any) -> Any:
        self.calls.append(("delete", path, kw))
        vmid = int(path.split("/")[3])
        if self.vms[vmid]["status"] == "running":
            raise ApiError(f"500 VM {vmid} is running - destroy failed")
        del self.vms[vmid]
        return self._task()

    def changing_calls(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [c for c in self.calls if c[0] != "get"]
