"""The PVE API: routing, parameter schemas, handlers and the VM lifecycle on the podman backend.

Handlers run synchronously and must answer well inside proxmoxer's 5 s timeout; everything slow (podman create,
commit, start, cloud-init) runs in a task (s4.pve.tasks) and answers with its UPID.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from s4.lab import topology
from s4.pve import schema
from s4.pve.auth import Authority, Principal
from s4.pve.backend import Backend, BackendError
from s4.pve.errors import ParamError, PVEError, TaskError
from s4.pve.schema import VMID, Prop, opt, req
from s4.pve.state import NODE, State, conf_digest, new_record, random_mac, static_ip, typed
from s4.pve.tasks import Task, TaskRunner, parse_upid

VERSION = {"version": "8.4.1", "release": "8.4", "repoid": "2a5fa54a8503f96d", "console": "xtermjs"}
RESERVED_SNAPNAMES = ("current", "pending")
SSH_KEY_RE = re.compile(
    r"^(?:[^\s]+\s+)?(ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r"\s+[A-Za-z0-9+/]+={0,3}(\s.*)?$"
)
CLOUDINIT_APPLY = r"""
import json, os, pwd, subprocess, sys
d = json.load(sys.stdin)
user = d["user"]
log = []
if user != "root":
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", "-G", "sudo", user], check=True)
        log.append("created user " + user)
    with open("/etc/sudoers.d/90-cloud-init-users", "w") as fh:
        fh.write(user + " ALL=(ALL) NOPASSWD:ALL\n")
    os.chmod("/etc/sudoers.d/90-cloud-init-users", 0o440)
pw = pwd.getpwnam(user)
if d.get("keys") is not None:
    ssh = os.path.join(pw.pw_dir, ".ssh")
    os.makedirs(ssh, exist_ok=True)
    ak = os.path.join(ssh, "authorized_keys")
    with open(ak, "w") as fh:
        fh.write("".join(k + "\n" for k in d["keys"]))
    for p, m in ((ssh, 0o700), (ak, 0o600)):
        os.chmod(p, m)
        os.chown(p, pw.pw_uid, pw.pw_gid)
    log.append("installed %d ssh key(s) for %s" % (len(d["keys"]), user))
if d.get("hash"):
    subprocess.run(["chpasswd", "-e"], input=user + ":" + d["hash"] + "\n", text=True, check=True)
    log.append("set password of " + user)
if d.get("resolv"):
    with open("/etc/resolv.conf", "w") as fh:
        fh.write(d["resolv"])
    log.append("wrote /etc/resolv.conf")
subprocess.run(["ssh-keygen", "-A"], check=True, capture_output=True)
subprocess.run(["systemctl", "reset-failed", "ssh.service"], capture_output=True)
subprocess.run(["systemctl", "restart", "ssh.service"], check=True)
log.append("ssh host keys present, sshd restarted")
print("\n".join(log))
"""


def vm_path(vmid: int) -> str:
    return f"/vms/{vmid}"


@dataclass
class Ctx:
    who: Principal
    auth: Authority


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Ctx, dict[str, Any]], Any]
    schema: dict[str, Prop]


PATH_PROPS: dict[str, Prop] = {
    "node": schema.NODE,
    "vmid": VMID,
    "snapname": req(fmt="pve-configid", max_length=40),
    "upid": req(),
    "poolid": req(),
    "storage": req(),
}

CONFIG_EXTRA: dict[str, Prop] = {
    "delete": opt(is_list=True),
    "revert": opt(is_list=True),
    "digest": opt(max_length=64),
    "skiplock": opt("boolean"),
    "force": opt("boolean"),
}


class Api:
    def __init__(self, state: State, backend: Backend, runner: TaskRunner, container_prefix: str = "s4pve-",
                 boot_timeout: int = 90) -> None:
        self.state = state
        self.backend = backend
        self.runner = runner
        self.prefix = container_prefix
        self.boot_timeout = boot_timeout
        self.booting: set[int] = set()
        self.vm_locks: dict[int, threading.Lock] = {}
        self.routes: list[Route] = []
        self._register()

    # ================================================================== routing
    def _add(self, method: str, path: str, handler: Callable[[Ctx, dict[str, Any]], Any],
             props: dict[str, Prop] | None = None) -> None:
        names = re.findall(r"{(\w+)}", path)
        regex = "^" + re.sub(r"{(\w+)}", lambda m: f"(?P<{m.group(1)}>[^/]+)", path) + "$"
        full = {n: PATH_PROPS[n] for n in names}
        full.update(props or {})
        self.routes.append(Route(method, re.compile(regex), handler, full))

    def _register(self) -> None:
        a = self._add
        q = "/nodes/{node}/qemu/{vmid}"
        a("GET", "/version", lambda c, p: dict(VERSION))
        a("GET", "/cluster/nextid", self.nextid, {"vmid": opt("integer", minimum=100, maximum=999999999)})
        a("GET", "/cluster/resources", self.resources, {"type": opt(enum=("vm", "storage", "node", "sdn"))})
        a("GET", "/cluster/status", self.cluster_status)
        a("GET", "/nodes", self.nodes)
        a("GET", "/nodes/{node}", lambda c, p: [{"name": n} for n in ("qemu", "lxc", "network", "storage", "tasks",
                                                                         "status", "version")])
        a("GET", "/nodes/{node}/status", self.node_status)
        a("GET", "/nodes/{node}/version", lambda c, p: dict(VERSION))
        a("GET", "/nodes/{node}/network", self.node_network, {"type": opt()})
        a("GET", "/nodes/{node}/storage", self.node_storage, {"content": opt(), "storage": opt(), "enabled": opt("boolean"),
                                                               "format": opt("boolean"), "target": opt()})
        a("GET", "/nodes/{node}/lxc", lambda c, p: [])
        a("GET", "/pools", self.pools, {"poolid": opt(), "type": opt()})
        a("GET", "/pools/{poolid}", self.pool, {"type": opt()})
        a("GET", "/nodes/{node}/qemu", self.qemu_list, {"full": opt("boolean")})
        a("POST", "/nodes/{node}/qemu", self.create, {
            "vmid": VMID, **schema.VM_OPTIONS, "storage": opt(), "pool": opt(), "start": opt("boolean"),
            "unique": opt("boolean"), "archive": opt(), "force": opt("boolean"), "bwlimit": opt("integer", minimum=0),
            "live-restore": opt("boolean")})
        a("GET", q, lambda c, p: self._vm_index(c, p))
        a("GET", q + "/config", self.config_get, {"current": opt("boolean"), "snapshot": opt(fmt="pve-configid")})
        a("PUT", q + "/config", self.config_put, {**schema.VM_OPTIONS, **CONFIG_EXTRA})
        a("POST", q + "/config", self.config_post, {**schema.VM_OPTIONS, **CONFIG_EXTRA,
                                                    "background_delay": opt("integer", minimum=1, maximum=30)})
        a("GET", q + "/pending", self.pending)
        a("GET", q + "/status", lambda c, p: [{"subdir": s} for s in ("current", "start", "stop", "reset", "shutdown",
                                                                        "suspend", "reboot", "resume")])
        a("GET", q + "/status/current", self.status_current)
        a("POST", q + "/status/start", self.start, {
            "timeout": opt("integer", minimum=0, maximum=86400), "skiplock": opt("boolean"), "machine": opt(),
            "migratedfrom": opt(), "migration_network": opt(), "migration_type": opt(enum=("secure", "insecure")),
            "stateuri": opt(), "targetstorage": opt(), "force-cpu": opt(), "nets": opt(), "with-conntrack-state": opt("boolean")})
        a("POST", q + "/status/stop", self.stop, {
            "timeout": opt("integer", minimum=0), "skiplock": opt("boolean"), "keepActive": opt("boolean"),
            "migratedfrom": opt(), "overrule-shutdown": opt("boolean")})
        a("POST", q + "/status/shutdown", self.shutdown, {
            "timeout": opt("integer", minimum=0), "forceStop": opt("boolean"), "keepActive": opt("boolean"),
            "skiplock": opt("boolean")})
        a("POST", q + "/status/reboot", self.reboot, {"timeout": opt("integer", minimum=0)})
        a("POST", q + "/status/reset", self.reset, {"skiplock": opt("boolean")})
        a("POST", q + "/status/suspend", self.suspend, {"todisk": opt("boolean"), "skiplock": opt("boolean"),
                                                         "statestorage": opt()})
        a("POST", q + "/status/resume", self.resume, {"skiplock": opt("boolean"), "nocheck": opt("boolean")})
        a("POST", q + "/clone", self.clone, {
            "newid": VMID, "name": opt(fmt="dns-name"), "description": opt(), "full": opt("boolean"), "storage": opt(),
            "format": opt(enum=("raw", "qcow2", "vmdk")), "pool": opt(), "snapname": opt(fmt="pve-configid"),
            "target": opt(fmt="pve-node"), "bwlimit": opt("integer", minimum=0)})
        a("POST", q + "/template", self.template, {"disk": opt()})
        a("DELETE", q, self.destroy, {"purge": opt("boolean"), "skiplock": opt("boolean"),
                                      "destroy-unreferenced-disks": opt("boolean")})
        a("GET", q + "/agent", lambda c, p: [{"name": n} for n in ("network-get-interfaces", "ping", "get-osinfo",
                                                                     "get-host-name")])
        a("POST", q + "/agent", self.agent_legacy, {"command": req(enum=("network-get-interfaces", "ping", "get-osinfo",
                                                                          "get-host-name"))})
        a("GET", q + "/agent/network-get-interfaces", lambda c, p: self.agent(c, p, "network-get-interfaces"))
        a("GET", q + "/agent/get-osinfo", lambda c, p: self.agent(c, p, "get-osinfo"))
        a("GET", q + "/agent/get-host-name", lambda c, p: self.agent(c, p, "get-host-name"))
        a("POST", q + "/agent/ping", lambda c, p: self.agent(c, p, "ping"))
        a("GET", q + "/snapshot", self.snapshot_list)
        a("POST", q + "/snapshot", self.snapshot_create, {"snapname": req(fmt="pve-configid", max_length=40),
                                                           "description": opt(), "vmstate": opt("boolean")})
        a("GET", q + "/snapshot/{snapname}", self.snapshot_index)
        a("GET", q + "/snapshot/{snapname}/config", self.snapshot_config_get)
        a("PUT", q + "/snapshot/{snapname}/config", self.snapshot_config_put, {"description": opt()})
        a("POST", q + "/snapshot/{snapname}/rollback", self.rollback, {"start": opt("boolean")})
        a("DELETE", q + "/snapshot/{snapname}", self.snapshot_delete, {"force": opt("boolean")})
        a("GET", "/nodes/{node}/tasks", self.task_list, {
            "start": opt("integer", minimum=0), "limit": opt("integer", minimum=0), "vmid": opt("integer", minimum=100),
            "typefilter": opt(), "userfilter": opt(), "errors": opt("boolean"), "source": opt(enum=("archive", "active", "all")),
            "since": opt("integer"), "until": opt("integer"), "statusfilter": opt()})
        a("GET", "/nodes/{node}/tasks/{upid}", lambda c, p: (self._task(c, p), [{"name": "log"}, {"name": "status"}])[1])
        a("GET", "/nodes/{node}/tasks/{upid}/status", self.task_status)
        a("GET", "/nodes/{node}/tasks/{upid}/log", self.task_log, {"start": opt("integer", minimum=0),
                                                                    "limit": opt("integer", minimum=0),
                                                                    "download": opt("boolean")})

    def dispatch(self, method: str, path: str, ctx: Ctx, params: dict[str, Any], path_values_raw: bool = False
                 ) -> Any:
        """Find the route for ``method path``, merge path placeholders, validate and run the handler."""
        allowed = False
        for route in self.routes:
            m = route.pattern.match(path)
            if not m:
                continue
            allowed = True
            if route.method != method:
                continue
            pathvals = {k: unquote(v) for k, v in m.groupdict().items()}
            merged = schema.merge_params(params, {}, pathvals)
            typed_params = schema.validate(merged, route.schema)
            if "node" in typed_params and typed_params["node"] != NODE:
                node = typed_params["node"]
                raise PVEError(500, f"hostname lookup '{node}' failed - failed to get address info for: {node}: "
                                    "Name or service not known")
            return route.handler(ctx, typed_params)
        del allowed
        raise PVEError(501, f"Method '{method} {path}' not implemented")

    # ================================================================== helpers
    def _vm(self, p: dict[str, Any]) -> dict[str, Any]:
        vm = self.state.get(p["vmid"])
        if vm is None or vm["node"] != p["node"]:
            raise PVEError(500, f"Configuration file 'nodes/{p['node']}/qemu-server/{p['vmid']}.conf' does not exist")
        return vm

    def _task_vm(self, vmid: int, ignore_lock: bool = False) -> dict[str, Any]:
        """The VM a running task works on (call with its _vm_lock held): it must still exist and, unless the
        request allows it (skiplock / force), carry no lock: the errors real Proxmox tasks end with."""
        cur = self.state.get(vmid)
        if cur is None:
            raise TaskError(f"Configuration file 'nodes/{NODE}/qemu-server/{vmid}.conf' does not exist")
        if cur.get("lock") and not ignore_lock:
            raise TaskError(f"VM is locked ({cur['lock']})")
        return cur

    def _unlock(self, vm: dict[str, Any]) -> None:
        """Clear the lock a task set on ``vm`` and persist it."""
        with self.state.lock:
            vm["lock"] = None
            self.state.put(vm)

    def _vm_lock(self, vmid: int) -> threading.Lock:
        with self.state.lock:
            return self.vm_locks.setdefault(vmid, threading.Lock())

    @staticmethod
    def _check_lock(vm: dict[str, Any], skiplock: bool = False) -> None:
        if vm.get("lock") and not skiplock:
            raise PVEError(500, f"VM is locked ({vm['lock']})")

    @staticmethod
    def _skiplock(ctx: Ctx, p: dict[str, Any]) -> bool:
        if p.get("skiplock"):
            if ctx.who.name != "root@pam":
                raise ParamError({"skiplock": "Only root may use this option."})
            return True
        return False

    def _container_state(self, vm: dict[str, Any]) -> str:
        name = vm.get("container")
        if not name:
            return "absent"
        return self.backend.states().get(name, "absent")

    def _runtime(self, vm: dict[str, Any]) -> tuple[str, str]:
        """(status, qmpstatus)"""
        state = self._container_state(vm)
        if state == "running":
            return "running", "running"
        if state == "paused":
            return "running", "paused"
        return "stopped", "stopped"

    @staticmethod
    def _is_template(vm: dict[str, Any]) -> bool:
        return bool(vm["conf"].get("template"))

    @staticmethod
    def _memory_bytes(conf: dict[str, Any]) -> int:
        raw = str(conf.get("memory", "512"))
        raw = raw.split("=", 1)[1] if raw.startswith("current=") else raw
        try:
            return int(raw) * 1024 * 1024
        except ValueError:
            return 512 * 1024 * 1024

    @staticmethod
    def _disk_bytes(conf: dict[str, Any]) -> int:
        for key in ("scsi0", "virtio0", "sata0", "ide0"):
            m = re.search(r"size=(\d+)([KMGT]?)", str(conf.get(key, "")))
            if m:
                return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[m.group(2)]
        return 0

    def _stats(self, vm: dict[str, Any]) -> dict[str, Any]:
        conf = vm["conf"]
        status, qmp = self._runtime(vm)
        running = status == "running"
        uptime = int(time.time() - vm["starttime"]) if running and vm.get("starttime") else 0
        return {
            "status": status, "qmpstatus": qmp, "name": conf.get("name", f"VM {vm['vmid']}"),
            "cpus": int(conf.get("cores", 1)) * int(conf.get("sockets", 1)),
            "maxmem": self._memory_bytes(conf), "mem": 0, "maxdisk": self._disk_bytes(conf), "disk": 0,
            "cpu": 0, "uptime": uptime, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        }

    def _container_name(self, vmid: int) -> str:
        return f"{self.prefix}{vmid}"

    def _image_ref(self, kind: str, vmid: int, extra: str = "") -> str:
        return f"{self.state.image_prefix}/{kind}-{vmid}{'-' + extra if extra else ''}:latest"

    # ================================================================== cluster / nodes
    def nextid(self, ctx: Ctx, p: dict[str, Any]) -> str:
        if "vmid" in p:
            if self.state.get(p["vmid"]) is not None:
                raise ParamError({"vmid": f"VM {p['vmid']} already exists"})
            return str(p["vmid"])
        return str(self.state.next_id())

    def _vm_resource(self, vm: dict[str, Any]) -> dict[str, Any]:
        st = self._stats(vm)
        entry = {"id": f"qemu/{vm['vmid']}", "vmid": vm["vmid"], "node": vm["node"], "type": "qemu",
                 "status": st["status"], "name": st["name"], "template": 1 if self._is_template(vm) else 0,
                 "maxcpu": st["cpus"], "cpu": 0, "maxmem": st["maxmem"], "mem": 0, "maxdisk": st["maxdisk"],
                 "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0, "uptime": st["uptime"],
                 "hastate": None}
        entry.pop("hastate")
        if vm.get("lock"):
            entry["lock"] = vm["lock"]
        if vm["conf"].get("tags"):
            entry["tags"] = vm["conf"]["tags"]
        return entry

    def _node_entry(self) -> dict[str, Any]:
        return {"node": NODE, "status": "online", "type": "node", "id": f"node/{NODE}", "cpu": 0.02, "maxcpu": 2,
                "mem": 2 * 1024**3, "maxmem": 8 * 1024**3, "disk": 10 * 1024**3, "maxdisk": 100 * 1024**3,
                "uptime": int(time.monotonic()), "level": "", "ssl_fingerprint": ""}

    def _storages(self) -> list[dict[str, Any]]:
        return [
            {"storage": "local", "type": "dir", "content": "iso,vztmpl,backup,import", "active": 1, "enabled": 1,
             "shared": 0, "total": 100 * 1024**3, "used": 10 * 1024**3, "avail": 90 * 1024**3},
            {"storage": "local-lvm", "type": "lvmthin", "content": "images,rootdir", "active": 1, "enabled": 1,
             "shared": 0, "total": 200 * 1024**3, "used": 20 * 1024**3, "avail": 180 * 1024**3},
        ]

    def resources(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        want = p.get("type")
        out: list[dict[str, Any]] = []
        if want in (None, "vm"):
            out += [self._vm_resource(vm) for vm in self.state.vms()
                    if ctx.auth.has(ctx.who, "VM.Audit")]
        if want in (None, "node") and ctx.auth.has(ctx.who, "Sys.Audit"):
            out.append(self._node_entry())
        if want in (None, "storage") and ctx.auth.has(ctx.who, "Datastore.Audit"):
            for s in self._storages():
                out.append({"id": f"storage/{NODE}/{s['storage']}", "storage": s["storage"], "node": NODE,
                            "type": "storage", "status": "available", "plugintype": s["type"], "content": s["content"],
                            "disk": s["used"], "maxdisk": s["total"], "shared": 0})
        return out

    def cluster_status(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"type": "node", "id": f"node/{NODE}", "name": NODE, "ip": "127.0.0.1", "online": 1, "local": 1,
                 "nodeid": 0, "level": ""}]

    def nodes(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        return [self._node_entry()]

    def node_status(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        ctx.auth.check(ctx.who, f"/nodes/{NODE}", "Sys.Audit")
        return {"uptime": int(time.monotonic()), "cpu": 0.02, "pveversion": "pve-manager/8.4.1/2a5fa54a8503f96d",
                "kversion": "Linux 6.8.12-lab", "memory": {"total": 8 * 1024**3, "used": 2 * 1024**3,
                                                           "free": 6 * 1024**3}}

    def node_network(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"iface": "vmbr0", "type": "bridge", "active": 1, "autostart": 1, "address": topology.GATEWAY,
                 "netmask": "255.255.255.0", "cidr": f"{topology.GATEWAY}/24", "gateway": topology.GATEWAY,
                 "bridge_ports": "", "families": ["inet"], "method": "static", "priority": 1}]

    def node_storage(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        return self._storages()

    def pools(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        return []

    def pool(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        raise PVEError(500, f"pool '{p['poolid']}' does not exist")

    def qemu_list(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for vm in self.state.vms():
            if not ctx.auth.has(ctx.who, "VM.Audit"):
                continue
            st = self._stats(vm)
            entry: dict[str, Any] = {"vmid": vm["vmid"], "name": st["name"], "status": st["status"], "cpus": st["cpus"],
                                     "maxmem": st["maxmem"], "maxdisk": st["maxdisk"], "mem": 0, "disk": 0, "cpu": 0,
                                     "uptime": st["uptime"], "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
                                     "serial": 1}
            if self._is_template(vm):
                entry["template"] = 1
            if vm.get("lock"):
                entry["lock"] = vm["lock"]
            if vm["conf"].get("tags"):
                entry["tags"] = vm["conf"]["tags"]
            if st["status"] == "running":
                entry["pid"] = 10000 + vm["vmid"]
            out.append(entry)
        return out

    def _vm_index(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, str]]:
        self._vm(p)
        ctx.auth.check(ctx.who, vm_path(p["vmid"]), "VM.Audit")
        return [{"subdir": s} for s in ("config", "pending", "status", "agent", "snapshot", "clone", "template")]

    # ================================================================== config
    def _conf_out(self, vm: dict[str, Any], conf: dict[str, Any] | None = None) -> dict[str, Any]:
        conf = dict(vm["conf"] if conf is None else conf)
        out: dict[str, Any] = {k: typed(k, v) for k, v in sorted(conf.items())}
        if "cipassword" in out:
            out["cipassword"] = "**********"
        if vm.get("lock"):
            out["lock"] = vm["lock"]
        out["digest"] = conf_digest(vm["conf"])
        return out

    def config_get(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Audit")
        if "snapshot" in p:
            if "current" in p:
                raise ParamError({"snapshot": "cannot use 'snapshot' parameter with 'current'",
                                  "current": "cannot use 'snapshot' parameter with 'current'"})
            snap = vm["snapshots"].get(p["snapshot"])
            if snap is None:
                raise PVEError(500, f"snapshot '{p['snapshot']}' does not exist")
            out = {k: typed(k, v) for k, v in sorted(snap["conf"].items())}
            if "cipassword" in out:
                out["cipassword"] = "**********"
            out.update({"snaptime": snap["snaptime"], "description": snap.get("description", "")})
            out["digest"] = conf_digest(snap["conf"])
            return out
        return self._conf_out(vm)

    def pending(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Audit")
        conf = self._conf_out(vm)
        conf.pop("digest", None)
        return [{"key": k, "value": v} for k, v in conf.items()]

    def _validate_sshkeys(self, encoded: str) -> list[str]:
        text = unquote(encoded)
        keys = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
        for key in keys:
            if not SSH_KEY_RE.match(key):
                raise PVEError(500, "SSH public key validation error")
        return keys

    @staticmethod
    def _hash_password(password: str) -> str:
        if re.match(r"^\$(?:[156]|2[ay])(\$.+){2}", password):
            return password
        proc = subprocess.run(["openssl", "passwd", "-5", "-stdin"], input=password + "\n", capture_output=True,
                              text=True, timeout=10, check=False)
        if proc.returncode != 0:
            raise PVEError(500, "unable to hash the cloud-init password")
        return proc.stdout.strip()

    def _apply_config(self, ctx: Ctx, p: dict[str, Any]) -> None:
        vm = self._vm(p)
        vmid = vm["vmid"]
        skiplock = self._skiplock(ctx, p)
        deletes = [d for d in re.split(r"[,;\s]+", p.get("delete", "")) if d]
        reverts = [d for d in re.split(r"[,;\s]+", p.get("revert", "")) if d]
        sets = {k: v for k, v in p.items() if k in schema.VM_OPTIONS and k not in ("node", "vmid")}
        for key in deletes + reverts:
            if key not in schema.VM_OPTIONS:
                raise ParamError({"delete" if key in deletes else "revert":
                                  f"invalid format - invalid configuration ID '{key}'\n"})
        unlocking = deletes == ["lock"] and not sets
        for key in list(sets) + deletes:
            ctx.auth.check(ctx.who, vm_path(vmid), schema.config_privilege(key))
        with self.state.lock:
            vm = self._vm(p)
            if not unlocking:
                self._check_lock(vm, skiplock)
            if "digest" in p and p["digest"] != conf_digest(vm["conf"]):
                raise PVEError(500, "checksum mismatch (file change by other user?)")
            if not sets and not deletes and not reverts:
                raise PVEError(500, "no options specified")
            overlap = set(sets) & set(deletes)
            if overlap:
                key = sorted(overlap)[0]
                raise PVEError(500, f"you can't use '-{key}' and '-delete {key}' at the same time")
            new = dict(vm["conf"])
            if "sshkeys" in sets:
                self._validate_sshkeys(sets["sshkeys"])
            if "cipassword" in sets:
                sets["cipassword"] = self._hash_password(sets["cipassword"])
            for key, value in sets.items():
                if key.startswith("net") and key[3:].isdigit():
                    model, sep, mac = str(value).split(",", 1)[0].partition("=")
                    if not sep or not mac:
                        rest = str(value).split(",", 1)[1:] if "," in str(value) else []
                        head = f"{model if model != 'model' else mac}={random_mac()}"
                        value = ",".join([head, *rest])
                if key == "template" and value == 0 and vm["conf"].get("template"):
                    raise PVEError(500, "you can't convert a template back to a VM")
                new[key] = typed(key, value)
            for key in deletes:
                if key == "lock":
                    vm["lock"] = None
                new.pop(key, None)
            vm["conf"] = new
            self.state.put(vm)

    def config_put(self, ctx: Ctx, p: dict[str, Any]) -> None:
        self._apply_config(ctx, p)
        return None

    def config_post(self, ctx: Ctx, p: dict[str, Any]) -> str | None:
        p = dict(p)
        delay = p.pop("background_delay", None)
        self._apply_config(ctx, p)
        upid = self.runner.run("qmconfig", str(p["vmid"]), ctx.who.name, lambda t: t.log("update VM config"))
        if delay:
            task = self.runner.get(upid)
            deadline = time.monotonic() + min(delay, 4)
            while task and task.status == "running" and time.monotonic() < deadline:
                time.sleep(0.05)
            if task and task.status == "stopped" and task.exitstatus == "OK":
                return None
        return upid

    # ================================================================== status
    def status_current(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Audit")
        st = self._stats(vm)
        out: dict[str, Any] = {"vmid": vm["vmid"], **st, "ha": {"managed": 0}}
        agent = str(vm["conf"].get("agent", ""))
        if agent and self._agent_enabled(agent):
            out["agent"] = 1
        if st["status"] == "running":
            out.update({"pid": 10000 + vm["vmid"], "running-machine": "pc-i440fx-9.0+pve0", "running-qemu": "9.0.2"})
        if self._is_template(vm):
            out["template"] = 1
        if vm.get("lock"):
            out["lock"] = vm["lock"]
        if vm["conf"].get("tags"):
            out["tags"] = vm["conf"]["tags"]
        return out

    @staticmethod
    def _agent_enabled(agent: str) -> bool:
        first = agent.split(",")[0]
        return first in ("1", "enabled=1")

    def _power_task(self, ctx: Ctx, p: dict[str, Any], ttype: str, work: Callable[[Task, dict[str, Any]], None],
                    priv: str = "VM.PowerMgmt") -> str:
        vm = self._vm(p)
        vmid = vm["vmid"]
        ctx.auth.check(ctx.who, vm_path(vmid), priv)
        skiplock = self._skiplock(ctx, p)

        def body(task: Task) -> None:
            with self._vm_lock(vmid):
                cur = self._task_vm(vmid, ignore_lock=skiplock)
                work(task, cur)

        return self.runner.run(ttype, str(vmid), ctx.who.name, body)

    def start(self, ctx: Ctx, p: dict[str, Any]) -> str:
        return self._power_task(ctx, p, "qmstart", lambda t, vm: self._do_start(t, vm))

    def _desired_net(self, vm: dict[str, Any]) -> tuple[str, str]:
        conf = vm["conf"]
        sip = static_ip(conf)
        # a new lease skips every address in use on the network, other servers' VMs included (the lab's PVE server
        # and the integration tests' own server share the POC range: CI run 19 gave two VMs 10.89.40.101)
        ip = sip[0] if sip else self.state.lease(
            vm["vmid"], set() if self.state.has_lease(vm["vmid"]) else self.backend.used_ips())
        net0 = str(conf.get("net0", ""))
        m = re.match(r"^[^=,]+=([0-9A-Fa-f:]{17})", net0)
        mac = m.group(1) if m else random_mac()
        return ip, mac.lower()

    def _ensure_container(self, task: Task, vm: dict[str, Any]) -> None:
        name = self._container_name(vm["vmid"])
        ip, mac = self._desired_net(vm)
        if vm.get("container") and self.backend.states().get(vm["container"]):
            if vm.get("net_applied") != {"ip": ip, "mac": mac}:
                task.log(f"applying network configuration: {ip} ({mac})")
                vm["net_applied"] = None
                self.state.put(vm)
                self.backend.set_network(vm["container"], ip, mac)
                vm["net_applied"] = {"ip": ip, "mac": mac}
                self.state.put(vm)
            return
        if not vm.get("image"):
            raise TaskError(f"unable to start VM {vm['vmid']}: no bootable disk (create VMs by cloning a template)")
        if not self.backend.image_exists(vm["image"]):
            raise TaskError(f"disk image {vm['image']} of VM {vm['vmid']} does not exist")
        task.log(f"creating machine {name} from {vm['image']} ({ip}, {mac})")
        self.backend.create(name, vm["image"], hostname=str(vm["conf"].get("name", f"vm{vm['vmid']}")), ip=ip,
                            mac=mac, vmid=vm["vmid"])
        vm["container"] = name
        vm["net_applied"] = {"ip": ip, "mac": mac}
        self.state.put(vm)

    def _wait_boot(self, task: Task, vm: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.boot_timeout
        last = ""
        while time.monotonic() < deadline:
            res = self.backend.exec(vm["container"], ["systemctl", "is-system-running"], timeout=20)
            last = res.out.strip() or res.err.strip()
            if last in ("running", "degraded"):
                task.log(f"VM {vm['vmid']} booted in {time.monotonic() - deadline + self.boot_timeout:.1f}s "
                         f"(systemd: {last})")
                return
            if self.backend.states().get(vm["container"]) not in ("running",):
                raise TaskError(f"VM {vm['vmid']} stopped while booting")
            time.sleep(0.5)
        raise TaskError(f"timeout waiting for VM {vm['vmid']} to boot (systemd state: {last or 'unknown'})")

    def _cloudinit(self, task: Task, vm: dict[str, Any]) -> None:
        conf = vm["conf"]
        user = str(conf.get("ciuser") or "root")
        keys = self._validate_sshkeys(str(conf["sshkeys"])) if conf.get("sshkeys") else None
        resolv = ""
        if conf.get("searchdomain"):
            resolv += "search " + " ".join(re.split(r"[\s,;]+", str(conf["searchdomain"]).strip())) + "\n"
        if conf.get("nameserver"):
            resolv += "".join(f"nameserver {ns}\n" for ns in re.split(r"[\s,;]+", str(conf["nameserver"]).strip()) if ns)
        payload = {"user": user, "keys": keys, "hash": conf.get("cipassword"), "resolv": resolv or None}
        task.log(f"cloud-init: user {user}" + (f", {len(keys)} ssh key(s)" if keys else ""))
        res = self.backend.exec(vm["container"], ["python3", "-c", CLOUDINIT_APPLY], stdin=json.dumps(payload),
                                timeout=120)
        if res.rc != 0:
            err = (res.err.strip().splitlines() or ["exit status " + str(res.rc)])[-1]
            raise TaskError(f"cloud-init failed in VM {vm['vmid']}: {err}")
        for line in res.out.splitlines():
            task.log(f"cloud-init: {line}")

    def _boot(self, task: Task, vm: dict[str, Any]) -> None:
        vmid = vm["vmid"]
        self.booting.add(vmid)
        try:
            self._wait_boot(task, vm)
            self._cloudinit(task, vm)
        finally:
            self.booting.discard(vmid)

    def _do_start(self, task: Task, vm: dict[str, Any]) -> None:
        vmid = vm["vmid"]
        if self._is_template(vm):
            raise TaskError("you can't start a vm if it's a template")
        state = self._container_state(vm)
        if state in ("running", "paused"):
            raise TaskError(f"VM {vmid} already running")
        self._ensure_container(task, vm)
        task.log(f"starting VM {vmid}")
        self.booting.add(vmid)
        try:
            began = time.monotonic()
            self.backend.start(vm["container"])
            task.log(f"machine {vm['container']} started in {time.monotonic() - began:.1f}s; waiting for systemd")
            vm["starttime"] = time.time()
            self.state.put(vm)
            try:
                self._boot(task, vm)
            except Exception:
                task.log(f"stopping VM {vmid} after the failed start")
                try:
                    self.backend.stop(vm["container"], 2)
                except BackendError as exc:
                    task.log(f"stop failed too: {exc}")
                raise
        finally:
            self.booting.discard(vmid)

    def stop(self, ctx: Ctx, p: dict[str, Any]) -> str:
        def work(task: Task, vm: dict[str, Any]) -> None:
            if self._container_state(vm) not in ("running", "paused"):
                task.log(f"VM {vm['vmid']} is not running")
                return
            if self._container_state(vm) == "paused":
                self.backend.unpause(vm["container"])
            self.backend.stop(vm["container"], 1)
            vm["starttime"] = None
            self.state.put(vm)
        return self._power_task(ctx, p, "qmstop", work)

    def shutdown(self, ctx: Ctx, p: dict[str, Any]) -> str:
        timeout = int(p.get("timeout", 60))

        def work(task: Task, vm: dict[str, Any]) -> None:
            st = self._container_state(vm)
            if st not in ("running", "paused"):
                task.log(f"VM {vm['vmid']} is not running")
                return
            if st == "paused":
                if not p.get("forceStop"):
                    raise TaskError("VM is paused - cannot shutdown")
                self.backend.unpause(vm["container"])
            task.log(f"shutting down VM {vm['vmid']} (timeout {timeout}s)")
            self.backend.stop(vm["container"], timeout)
            vm["starttime"] = None
            self.state.put(vm)
        return self._power_task(ctx, p, "qmshutdown", work)

    def _restart(self, task: Task, vm: dict[str, Any], timeout: int) -> None:
        if self._container_state(vm) not in ("running", "paused"):
            raise TaskError(f"VM {vm['vmid']} not running")
        self._ensure_container(task, vm)
        self.booting.add(vm["vmid"])
        try:
            self.backend.restart(vm["container"], timeout)
            vm["starttime"] = time.time()
            self.state.put(vm)
            self._boot(task, vm)
        finally:
            self.booting.discard(vm["vmid"])

    def reboot(self, ctx: Ctx, p: dict[str, Any]) -> str:
        return self._power_task(ctx, p, "qmreboot", lambda t, vm: self._restart(t, vm, int(p.get("timeout", 60))))

    def reset(self, ctx: Ctx, p: dict[str, Any]) -> str:
        return self._power_task(ctx, p, "qmreset", lambda t, vm: self._restart(t, vm, 0))

    def suspend(self, ctx: Ctx, p: dict[str, Any]) -> str:
        def work(task: Task, vm: dict[str, Any]) -> None:
            if p.get("todisk"):
                raise TaskError("suspend to disk is not supported by the lab server (containers have no RAM image)")
            if self._container_state(vm) != "running":
                raise TaskError(f"VM {vm['vmid']} not running")
            self.backend.pause(vm["container"])
        return self._power_task(ctx, p, "qmsuspend" if p.get("todisk") else "qmpause", work)

    def resume(self, ctx: Ctx, p: dict[str, Any]) -> str:
        def work(task: Task, vm: dict[str, Any]) -> None:
            if self._container_state(vm) != "paused":
                raise TaskError(f"VM {vm['vmid']} not paused")
            self.backend.unpause(vm["container"])
        return self._power_task(ctx, p, "qmresume", work)

    # ================================================================== create / clone / template / destroy
    def create(self, ctx: Ctx, p: dict[str, Any]) -> str:
        vmid = p["vmid"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Allocate")
        if "archive" in p:
            raise PVEError(500, "restore from backup archives is not supported by the lab server")
        opts = {k: v for k, v in p.items() if k in schema.VM_OPTIONS}
        for key in opts:
            if key != "template":
                ctx.auth.check(ctx.who, vm_path(vmid), schema.config_privilege(key))
        if "sshkeys" in opts:
            self._validate_sshkeys(opts["sshkeys"])
        if "cipassword" in opts:
            opts["cipassword"] = self._hash_password(opts["cipassword"])
        storage = p.get("storage", "local-lvm")
        with self.state.lock:
            if self.state.get(vmid) is not None:
                raise PVEError(500, f"unable to create VM {vmid}: config file already exists")
            conf: dict[str, Any] = {}
            disk_n = 0
            for key, value in opts.items():
                if schema.is_disk_key(key):
                    m = re.match(r"^([\w\-]+):(\d+|cloudinit)(,.*)?$", str(value))
                    if m and m.group(2) == "cloudinit":
                        value = f"{m.group(1)}:vm-{vmid}-cloudinit,media=cdrom"
                    elif m:
                        value = f"{m.group(1)}:vm-{vmid}-disk-{disk_n},size={m.group(2)}G{m.group(3) or ''}"
                        disk_n += 1
                conf[key] = typed(key, value)
            for key in list(conf):
                if key.startswith("net") and key[3:].isdigit():
                    head = str(conf[key]).split(",")[0]
                    if "=" not in head:
                        conf[key] = str(conf[key]).replace(head, f"{head}={random_mac()}", 1)
            conf.setdefault("smbios1", f"uuid={uuid.uuid4()}")
            conf.setdefault("vmgenid", str(uuid.uuid4()))
            conf.setdefault("meta", f"creation-qemu=9.0.2,ctime={int(time.time())}")
            del storage
            self.state.put(new_record(vmid, conf, lock="create"))

        def work(task: Task) -> None:
            task.log(f"creating VM {vmid} (configuration only: the lab has no installer; clone a template for an OS)")
            with self.state.lock:
                vm = self.state.get(vmid)
                if vm is not None:
                    vm["lock"] = None
                    self.state.put(vm)

        def undo(task: Task, error: str) -> None:
            self.state.delete(vmid)
        return self.runner.run("qmcreate", str(vmid), ctx.who.name, work, undo)

    def _clone_conf(self, src: dict[str, Any], newid: int, name: str | None, description: str | None, full: bool,
                    storage: str | None) -> dict[str, Any]:
        conf: dict[str, Any] = {}
        srcid = src["vmid"]
        for key, value in src["conf"].items():
            if key in ("template", "parent", "lock") or key.startswith("unused"):
                continue
            if key.startswith("net") and key[3:].isdigit():
                value = re.sub(r"^([^=,]+)=[0-9A-Fa-f:]{17}", lambda m: f"{m.group(1)}={random_mac()}", str(value))
            elif key == "smbios1":
                value = re.sub(r"uuid=[0-9a-fA-F-]+", f"uuid={uuid.uuid4()}", str(value))
            elif key == "vmgenid":
                value = str(uuid.uuid4())
            elif schema.is_disk_key(key):
                sval = str(value)
                vol, _, rest = sval.partition(",")
                src_store = vol.split(":", 1)[0]
                if "cloudinit" in vol:
                    value = f"{storage or src_store}:vm-{newid}-cloudinit,media=cdrom"
                elif "media=cdrom" in sval:
                    value = sval
                else:
                    m = re.search(r"disk-(\d+)", vol)
                    n = m.group(1) if m else "0"
                    size = [r for r in rest.split(",") if r.startswith("size=")]
                    tail = ("," + size[0]) if size else ""
                    if full:
                        value = f"{storage or src_store}:vm-{newid}-disk-{n}{tail}"
                    else:
                        value = f"{src_store}:base-{srcid}-disk-{n}/vm-{newid}-disk-{n}{tail}"
            conf[key] = value
        conf["name"] = name or f"Copy-of-VM-{src['conf'].get('name', srcid)}"
        if description is not None:
            conf["description"] = description
        conf["meta"] = f"creation-qemu=9.0.2,ctime={int(time.time())}"
        return conf

    def clone(self, ctx: Ctx, p: dict[str, Any]) -> str:
        src = self._vm(p)
        srcid, newid = src["vmid"], p["newid"]
        ctx.auth.check(ctx.who, vm_path(srcid), "VM.Clone")
        ctx.auth.check(ctx.who, vm_path(newid), "VM.Allocate")
        if p.get("target") and p["target"] != NODE:
            raise PVEError(500, f"Target node '{p['target']}' does not exist")
        if p.get("pool"):
            raise PVEError(500, f"pool '{p['pool']}' does not exist")
        template = self._is_template(src)
        full = bool(p.get("full", 0 if template else 1))
        if not full:
            for opt_name in ("storage", "format"):
                if opt_name in p:
                    raise PVEError(500, f"parameter '{opt_name}' not allowed for linked clones")
            if not template:
                raise PVEError(500, "Linked clone feature is not supported for drive 'scsi0'")
        if p.get("storage") and p["storage"] not in ("local-lvm", "local"):
            raise PVEError(500, f"storage '{p['storage']}' does not exist")
        with self.state.lock:
            src = self._vm(p)
            self._check_lock(src)
            if self.state.get(newid) is not None:
                raise PVEError(500, f"unable to create VM {newid}: config file already exists")
            snap = None
            if p.get("snapname"):
                snap = src["snapshots"].get(p["snapname"])
                if snap is None:
                    raise PVEError(500, f"snapshot '{p['snapname']}' does not exist")
            conf = self._clone_conf(src, newid, p.get("name"), p.get("description"), full, p.get("storage"))
            if snap is not None:
                conf = self._clone_conf({**src, "conf": snap["conf"]}, newid, p.get("name"), p.get("description"),
                                        full, p.get("storage"))
            self.state.put(new_record(newid, conf, lock="clone"))
            src_image = snap["image"] if snap else src.get("image")
            src_container = None if (snap or template) else src.get("container")
        name = self._container_name(newid)

        def work(task: Task) -> None:
            task.log(f"create {'full' if full else 'linked'} clone of VM {srcid} as VM {newid}")
            vm = self.state.get(newid)
            if vm is None:
                raise TaskError(f"VM {newid} vanished during the clone")
            owned: list[str] = []
            if full:
                ref = self._image_ref("vm", newid, "disk-0")
                if src_container and self.backend.states().get(src_container):
                    task.log(f"copying the disk of VM {srcid} ({src_container}) to {ref}")
                    self.backend.flatten(src_container, ref, is_image=False)
                elif src_image:
                    if not self.backend.image_exists(src_image):
                        raise TaskError(f"source image {src_image} does not exist (build it: python -m s4.lab.images)")
                    task.log(f"copying {src_image} to {ref}")
                    self.backend.flatten(src_image, ref, is_image=True)
                else:
                    raise TaskError(f"VM {srcid} has no disk to clone")
                owned.append(ref)
                image = ref
            else:
                if not src_image or not self.backend.image_exists(src_image):
                    raise TaskError(f"base image {src_image} of template {srcid} does not exist "
                                    "(build it: python -m s4.lab.images)")
                task.log(f"linked clone: sharing the layers of {src_image}")
                image = src_image
            vm["image"] = image
            vm["owned_images"] = owned
            self.state.put(vm)
            ip, mac = self._desired_net(vm)
            task.log(f"creating machine {name} ({ip}, {mac})")
            self.backend.create(name, image, hostname=str(conf["name"]), ip=ip, mac=mac, vmid=newid)
            with self.state.lock:
                vm["container"] = name
                vm["net_applied"] = {"ip": ip, "mac": mac}
                vm["lock"] = None
                self.state.put(vm)

        def undo(task: Task, error: str) -> None:
            task.log(f"clone failed, removing VM {newid}: {error}")
            vm = self.state.get(newid) or {}
            if vm.get("container"):
                try:
                    self.backend.remove(vm["container"])
                except BackendError as exc:
                    task.log(str(exc))
            for ref in vm.get("owned_images", []):
                self.backend.remove_image(ref)
            self.state.delete(newid)

        return self.runner.run("qmclone", str(srcid), ctx.who.name, work, undo)

    def template(self, ctx: Ctx, p: dict[str, Any]) -> str:
        vm = self._vm(p)
        vmid = vm["vmid"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Allocate")
        with self.state.lock:
            vm = self._vm(p)
            self._check_lock(vm)
            if self._is_template(vm):
                raise PVEError(500, "you can't convert a template to a template")
            if self._runtime(vm)[0] == "running":
                raise PVEError(500, "you can't convert a VM to template if VM is running")
            if vm["snapshots"]:
                raise PVEError(500, "unable to create template, because VM contains snapshots")
            ref = None
            if vm.get("container") and self.backend.states().get(vm["container"]):
                ref = self._image_ref("base", vmid, "disk-0")
                try:
                    self.backend.commit(vm["container"], ref)
                    self.backend.remove(vm["container"])
                except BackendError as exc:
                    raise PVEError(500, str(exc)) from None
                vm["image"] = ref
                vm["owned_images"].append(ref)
                vm["container"] = None
                vm["net_applied"] = None
            conf = vm["conf"]
            for key in list(conf):
                if schema.is_disk_key(key):
                    conf[key] = str(conf[key]).replace(f"vm-{vmid}-disk-", f"base-{vmid}-disk-")
            conf["template"] = 1
            self.state.put(vm)
        return self.runner.run("qmtemplate", str(vmid), ctx.who.name,
                               lambda t: t.log(f"VM {vmid} is a template" + (f" (disk image {ref})" if ref else "")))

    def destroy(self, ctx: Ctx, p: dict[str, Any]) -> str:
        vm = self._vm(p)
        vmid = vm["vmid"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Allocate")
        skiplock = self._skiplock(ctx, p)
        if vm["conf"].get("protection"):
            raise PVEError(500, f"can't remove VM {vmid} - protection mode enabled")
        if self._runtime(vm)[0] == "running":
            raise PVEError(500, f"VM {vmid} is running - destroy failed")

        def work(task: Task) -> None:
            with self._vm_lock(vmid):
                cur = self._task_vm(vmid, ignore_lock=skiplock)
                if self._runtime(cur)[0] == "running":
                    raise TaskError(f"VM {vmid} is running - destroy failed")
                self._remove_vm_artifacts(task, cur)
                self.state.delete(vmid)
                task.log(f"VM {vmid} destroyed")

        return self.runner.run("qmdestroy", str(vmid), ctx.who.name, work)

    def _remove_vm_artifacts(self, task: Task | None, vm: dict[str, Any]) -> None:
        if vm.get("container"):
            if task:
                task.log(f"removing machine {vm['container']}")
            self.backend.remove(vm["container"])
        for ref in owned_image_refs(vm, self.state.image_prefix):
            if self.backend.remove_image(ref) and task:
                task.log(f"removed disk image {ref}")

    # ================================================================== agent
    def agent(self, ctx: Ctx, p: dict[str, Any], command: str) -> dict[str, Any]:
        vm = self._vm(p)
        vmid = vm["vmid"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Monitor")
        if not self._agent_enabled(str(vm["conf"].get("agent", "0"))):
            raise PVEError(500, "No QEMU guest agent configured")
        if self._runtime(vm)[0] != "running":
            raise PVEError(500, f"VM {vmid} is not running")
        if vmid in self.booting or self._container_state(vm) != "running":
            raise PVEError(500, "QEMU guest agent is not running")
        if command == "ping":
            res = self.backend.exec(vm["container"], ["true"], timeout=4)
            if res.rc != 0:
                raise PVEError(500, "QEMU guest agent is not running")
            return {}
        if command == "get-host-name":
            res = self.backend.exec(vm["container"], ["hostname"], timeout=4)
            if res.rc != 0:
                raise PVEError(500, "QEMU guest agent is not running")
            return {"result": {"host-name": res.out.strip()}}
        if command == "get-osinfo":
            res = self.backend.exec(vm["container"], ["cat", "/etc/os-release"], timeout=4)
            if res.rc != 0:
                raise PVEError(500, "QEMU guest agent is not running")
            info = dict(line.split("=", 1) for line in res.out.splitlines() if "=" in line)
            clean = {k: v.strip('"') for k, v in info.items()}
            return {"result": {"id": clean.get("ID", ""), "name": clean.get("NAME", ""),
                               "pretty-name": clean.get("PRETTY_NAME", ""), "version": clean.get("VERSION", ""),
                               "version-id": clean.get("VERSION_ID", ""), "kernel-release": "",
                               "machine": "x86_64"}}
        res = self.backend.exec(vm["container"], ["ip", "-s", "-j", "addr", "show"], timeout=4)
        if res.rc != 0:
            raise PVEError(500, "QEMU guest agent is not running")
        try:
            links = json.loads(res.out)
        except json.JSONDecodeError:
            raise PVEError(500, "QEMU guest agent is not running") from None
        return {"result": agent_interfaces(links)}

    def agent_legacy(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        return self.agent(ctx, p, p["command"])

    # ================================================================== snapshots
    def snapshot_list(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Audit")
        out: list[dict[str, Any]] = []
        for name, snap in vm["snapshots"].items():
            entry = {"name": name, "snaptime": snap["snaptime"], "vmstate": snap.get("vmstate", 0),
                     "description": snap.get("description", "")}
            if snap.get("parent"):
                entry["parent"] = snap["parent"]
            out.append(entry)
        current: dict[str, Any] = {"name": "current", "description": "You are here!",
                                   "running": 1 if self._runtime(vm)[0] == "running" else 0,
                                   "digest": conf_digest(vm["conf"])}
        if vm["conf"].get("parent"):
            current["parent"] = vm["conf"]["parent"]
        out.append(current)
        return out

    def _snap(self, vm: dict[str, Any], name: str) -> dict[str, Any]:
        snap = vm["snapshots"].get(name)
        if snap is None:
            raise PVEError(500, f"snapshot '{name}' does not exist")
        snapshot: dict[str, Any] = snap
        return snapshot

    def snapshot_index(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, str]]:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Audit")
        self._snap(vm, p["snapname"])
        return [{"cmd": "rollback"}, {"cmd": "config"}]

    def snapshot_config_get(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Audit")
        snap = self._snap(vm, p["snapname"])
        out = {k: typed(k, v) for k, v in sorted(snap["conf"].items())}
        if "cipassword" in out:
            out["cipassword"] = "**********"
        out.update({"snaptime": snap["snaptime"], "description": snap.get("description", ""), "vmstate": 0})
        return out

    def snapshot_config_put(self, ctx: Ctx, p: dict[str, Any]) -> None:
        vm = self._vm(p)
        ctx.auth.check(ctx.who, vm_path(vm["vmid"]), "VM.Snapshot")
        with self.state.lock:
            vm = self._vm(p)
            snap = self._snap(vm, p["snapname"])
            if "description" in p:
                snap["description"] = p["description"]
            self.state.put(vm)
        return None

    def snapshot_create(self, ctx: Ctx, p: dict[str, Any]) -> str:
        vm = self._vm(p)
        vmid, snapname = vm["vmid"], p["snapname"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Snapshot")
        if snapname in RESERVED_SNAPNAMES:
            raise PVEError(500, f"unable to use snapshot name '{snapname}' (reserved name)")

        def work(task: Task) -> None:
            with self._vm_lock(vmid):
                with self.state.lock:
                    cur = self._task_vm(vmid)
                    if self._is_template(cur):
                        raise TaskError("you can't take a snapshot if it's a template")
                    if snapname in cur["snapshots"]:
                        raise TaskError(f"snapshot name '{snapname}' already used")
                    cur["lock"] = "snapshot"
                    self.state.put(cur)
                try:
                    if p.get("vmstate"):
                        task.warn("the lab cannot save RAM state; snapshot taken without vmstate")
                    ref = self._image_ref("snap", vmid, snapname)
                    if cur.get("container") and self.backend.states().get(cur["container"]):
                        task.log(f"snapshotting the filesystem of {cur['container']} to {ref}")
                        image_id = self.backend.commit(cur["container"], ref)
                        image: str | None = ref
                    else:
                        image_id = None
                        image = cur.get("image")
                        task.log("VM has no machine yet: the snapshot refers to its disk image")
                    conf = {k: v for k, v in cur["conf"].items() if k not in ("parent", "lock")}
                    snap = {"conf": copy.deepcopy(conf), "snaptime": int(time.time()), "vmstate": 0,
                            "description": p.get("description", ""), "image": image, "image_id": image_id,
                            "owned": image == ref}
                    if cur["conf"].get("parent"):
                        snap["parent"] = cur["conf"]["parent"]
                    with self.state.lock:
                        cur["snapshots"][snapname] = snap
                        cur["conf"]["parent"] = snapname
                finally:
                    self._unlock(cur)
        return self.runner.run("qmsnapshot", str(vmid), ctx.who.name, work)

    def rollback(self, ctx: Ctx, p: dict[str, Any]) -> str:
        vm = self._vm(p)
        vmid, snapname = vm["vmid"], p["snapname"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Snapshot.Rollback")

        def work(task: Task) -> None:
            with self._vm_lock(vmid):
                with self.state.lock:
                    cur = self._task_vm(vmid)
                    snap = cur["snapshots"].get(snapname)
                    if snap is None:
                        raise TaskError(f"snapshot '{snapname}' does not exist")
                    cur["lock"] = "rollback"
                    self.state.put(cur)
                try:
                    if cur.get("container"):
                        if self._container_state(cur) in ("running", "paused"):
                            task.log(f"stopping VM {vmid}")
                            if self._container_state(cur) == "paused":
                                self.backend.unpause(cur["container"])
                            self.backend.stop(cur["container"], 5)
                        task.log(f"discarding the current filesystem of {cur['container']}")
                        self.backend.remove(cur["container"])
                        cur["container"] = None
                        cur["net_applied"] = None
                    with self.state.lock:
                        cur["conf"] = copy.deepcopy(snap["conf"])
                        cur["conf"]["parent"] = snapname
                        cur["image"] = snap["image"]
                        cur["starttime"] = None
                        self.state.put(cur)
                    if snap.get("image"):
                        self._ensure_container(task, cur)
                    task.log(f"rolled back VM {vmid} to snapshot '{snapname}'")
                finally:
                    self._unlock(cur)
                if p.get("start"):
                    self._do_start(task, cur)
        return self.runner.run("qmrollback", str(vmid), ctx.who.name, work)

    def snapshot_delete(self, ctx: Ctx, p: dict[str, Any]) -> str:
        vm = self._vm(p)
        vmid, snapname = vm["vmid"], p["snapname"]
        ctx.auth.check(ctx.who, vm_path(vmid), "VM.Snapshot")
        force = bool(p.get("force"))

        def work(task: Task) -> None:
            with self._vm_lock(vmid):
                with self.state.lock:
                    cur = self._task_vm(vmid, ignore_lock=force)
                    snap = cur["snapshots"].get(snapname)
                    if snap is None:
                        raise TaskError(f"snapshot '{snapname}' does not exist")
                    cur["lock"] = "snapshot-delete"
                    self.state.put(cur)
                try:
                    ref = snap.get("image")
                    if snap.get("owned") and ref:
                        in_use = ref == cur.get("image") or any(
                            s.get("image") == ref for n, s in cur["snapshots"].items() if n != snapname)
                        image_id = snap.get("image_id") or ref
                        if in_use:
                            # the machine runs on this image: drop the snapshot's name, keep the layers (by id)
                            # until the VM is destroyed
                            self.backend.untag(ref)
                            cur.setdefault("owned_images", []).append(image_id)
                            if cur.get("image") == ref:
                                cur["image"] = image_id
                            for other in cur["snapshots"].values():
                                if other is not snap and other.get("image") == ref:
                                    other["image"] = image_id
                            task.log(f"snapshot image {ref} untagged; its layers back the VM's disk until it is "
                                     "destroyed")
                        else:
                            self.backend.remove_image(image_id)
                            self.backend.untag(ref)
                            task.log(f"removed snapshot image {ref}")
                    with self.state.lock:
                        parent = snap.get("parent")
                        del cur["snapshots"][snapname]
                        for other in cur["snapshots"].values():
                            if other.get("parent") == snapname:
                                other["parent"] = parent
                                if not parent:
                                    other.pop("parent")
                        if cur["conf"].get("parent") == snapname:
                            if parent:
                                cur["conf"]["parent"] = parent
                            else:
                                cur["conf"].pop("parent")
                finally:
                    self._unlock(cur)
        return self.runner.run("qmdelsnapshot", str(vmid), ctx.who.name, work)

    # ================================================================== tasks
    def _task(self, ctx: Ctx, p: dict[str, Any]) -> Task:
        upid = p["upid"]
        if parse_upid(upid) is None:
            raise ParamError({"upid": "unable to parse worker upid"})
        task = self.runner.get(upid)
        if task is None:
            raise ParamError({"upid": "no such task"})
        owner = task.user
        if owner != ctx.who.name and owner.split("!")[0] != ctx.who.name:
            ctx.auth.check(ctx.who, f"/nodes/{NODE}", "Sys.Audit")
        return task

    def task_status(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        return self._task(ctx, p).status_dict()

    def task_log(self, ctx: Ctx, p: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        task = self._task(ctx, p)
        start, limit = int(p.get("start", 0)), int(p.get("limit", 50))
        lines = list(task.lines)
        if task.status == "running" and not lines:
            lines = []
        window = lines[start:start + limit] if limit else lines[start:]
        return [{"n": start + i + 1, "t": t} for i, t in enumerate(window)], len(lines)

    def task_list(self, ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        can_all = ctx.auth.has(ctx.who, "Sys.Audit")
        for task in self.runner.all():
            if not can_all and task.user != ctx.who.name:
                continue
            if "vmid" in p and task.id != str(p["vmid"]):
                continue
            if p.get("typefilter") and task.type != p["typefilter"]:
                continue
            if p.get("userfilter") and p["userfilter"] not in task.user:
                continue
            if p.get("errors") and task.exitstatus in ("OK", None):
                continue
            src = p.get("source", "archive")
            if src == "active" and task.status != "running":
                continue
            if src == "archive" and task.status == "running":
                continue
            entry: dict[str, Any] = {"upid": task.upid, "node": task.node, "pid": task.pid, "pstart": task.pstart,
                                     "starttime": task.starttime, "type": task.type, "id": task.id, "user": task.user}
            if task.status == "stopped":
                entry["status"] = task.exitstatus
                entry["endtime"] = task.endtime
            out.append(entry)
        start, limit = int(p.get("start", 0)), int(p.get("limit", 50))
        return out[start:start + limit]


def agent_interfaces(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ip -s -j addr`` output as the guest agent's network-get-interfaces result (lo first)."""
    result = []
    for link in sorted(links, key=lambda x: (x.get("ifname") != "lo", x.get("ifindex", 0))):
        addrs = []
        for a in link.get("addr_info", []):
            fam = a.get("family")
            if fam not in ("inet", "inet6"):
                continue
            addrs.append({"ip-address": a.get("local"), "ip-address-type": "ipv4" if fam == "inet" else "ipv6",
                          "prefix": int(a.get("prefixlen", 0))})
        stats = link.get("stats64", {})
        rx, tx = stats.get("rx", {}), stats.get("tx", {})
        result.append({
            "name": link.get("ifname"),
            "hardware-address": str(link.get("address", "00:00:00:00:00:00")).lower(),
            "ip-addresses": addrs,
            "statistics": {"rx-bytes": rx.get("bytes", 0), "rx-packets": rx.get("packets", 0),
                           "rx-errs": rx.get("errors", 0), "rx-dropped": rx.get("dropped", 0),
                           "tx-bytes": tx.get("bytes", 0), "tx-packets": tx.get("packets", 0),
                           "tx-errs": tx.get("errors", 0), "tx-dropped": tx.get("dropped", 0)},
        })
    return result


def owned_image_refs(vm: dict[str, Any], image_prefix: str) -> list[str]:
    """Images this VM created (its full-clone disk, template disk, snapshots), newest first, for removal.
    Entries are our own references or bare image ids; shared template images are never included."""
    refs = [s["image"] for s in vm.get("snapshots", {}).values() if s.get("owned") and s.get("image")]
    refs += list(vm.get("owned_images", []))
    out: list[str] = []
    for ref in reversed(refs):
        if (ref.startswith(image_prefix + "/") or "/" not in ref) and ref not in out:
            out.append(ref)
    return out
