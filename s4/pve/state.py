"""Persistent server state: VM records, DHCP leases, counters. One JSON file, written atomically on every change."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import secrets
import threading
import uuid
from pathlib import Path
from typing import Any

from s4.lab import topology
from s4.pve import schema

NODE = "pve"

# Templates seeded on first start: vmid -> (name, suite, description)
SEED_TEMPLATES: dict[int, tuple[str, str, str]] = {
    9000: ("debian13-template", "trixie", "Debian 13 (trixie)"),
    9001: ("debian12-template", "bookworm", "Debian 12 (bookworm)"),
    9002: ("debian11-template", "bullseye", "Debian 11 (bullseye)"),
}


def random_mac() -> str:
    return "BC:24:11:" + ":".join(f"{b:02X}" for b in secrets.token_bytes(3))


def template_conf(vmid: int, name: str, description: str, image: str) -> dict[str, Any]:
    return {
        "name": name,
        "template": 1,
        "memory": "2048",
        "cores": 2,
        "sockets": 1,
        "cpu": "x86-64-v2-AES",
        "agent": "1",
        "ostype": "l26",
        "scsihw": "virtio-scsi-pci",
        "scsi0": f"local-lvm:base-{vmid}-disk-0,size=8G",
        "ide2": f"local-lvm:vm-{vmid}-cloudinit,media=cdrom",
        "net0": f"virtio={random_mac()},bridge=vmbr0",
        "boot": "order=scsi0",
        "smbios1": f"uuid={uuid.uuid4()}",
        "vmgenid": str(uuid.uuid4()),
        "meta": "creation-qemu=9.0.2,ctime=1700000000",
        "description": f"{description} lab image {image}",
    }


def conf_digest(conf: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(conf, sort_keys=True).encode()).hexdigest()


def typed(key: str, value: Any) -> Any:
    """Config values as the API returns them: booleans/integers as numbers, everything else as strings."""
    if key in schema.NUMERIC_OPTIONS:
        try:
            return int(value) if schema.VM_OPTIONS[key].type != "number" else float(value)
        except (TypeError, ValueError):
            return value
    return str(value)


class State:
    """All VM records of one server, guarded by ``lock`` (an RLock: handlers hold it while they mutate)."""

    def __init__(self, state_dir: Path, image_prefix: str = "localhost/s4pve") -> None:
        self.path = state_dir / "state.json"
        self.lock = threading.RLock()
        self.image_prefix = image_prefix
        if self.path.exists():
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        else:
            self.data = {"instance": secrets.token_hex(6), "vms": {}, "leases": {}}
            for vmid, (name, suite, desc) in SEED_TEMPLATES.items():
                image = f"{topology.IMAGE_REPO}/base-{suite}:latest"
                self.data["vms"][str(vmid)] = new_record(vmid, template_conf(vmid, name, desc, image), image=image,
                                                         seeded=True)
            self.save()

    @property
    def instance(self) -> str:
        return str(self.data["instance"])

    def save(self) -> None:
        with self.lock:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
            os.replace(tmp, self.path)

    def vms(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.data["vms"][k] for k in sorted(self.data["vms"], key=int)]

    def get(self, vmid: int) -> dict[str, Any] | None:
        with self.lock:
            vm: dict[str, Any] | None = self.data["vms"].get(str(vmid))
            return vm

    def put(self, vm: dict[str, Any]) -> None:
        with self.lock:
            self.data["vms"][str(vm["vmid"])] = vm
            self.save()

    def delete(self, vmid: int) -> None:
        with self.lock:
            self.data["vms"].pop(str(vmid), None)
            self.data["leases"].pop(str(vmid), None)
            self.save()

    def next_id(self) -> int:
        with self.lock:
            used = {int(k) for k in self.data["vms"]}
            vmid = 100
            while vmid in used:
                vmid += 1
            return vmid

    # ------------------------------------------------------------------ addresses
    def has_lease(self, vmid: int) -> bool:
        with self.lock:
            return str(vmid) in self.data["leases"]

    def lease(self, vmid: int, in_use: set[str]) -> str:
        """The VM's DHCP address from the POC range (kept for the VM's lifetime)."""
        with self.lock:
            leases: dict[str, str] = self.data["leases"]
            if str(vmid) in leases:
                return leases[str(vmid)]
            taken = set(leases.values()) | in_use | self.static_ips()
            lo, hi = (int(x.rsplit(".", 1)[1]) for x in topology.POC_RANGE)
            base = topology.POC_RANGE[0].rsplit(".", 1)[0]
            for host in range(lo, hi + 1):
                ip = f"{base}.{host}"
                if ip not in taken:
                    leases[str(vmid)] = ip
                    self.save()
                    return ip
            raise RuntimeError(f"no free address left in {topology.POC_RANGE[0]}-{topology.POC_RANGE[1]}")

    def static_ips(self) -> set[str]:
        out = set()
        for vm in self.data["vms"].values():
            ip = static_ip(vm["conf"])
            if ip:
                out.add(ip[0])
        return out


def static_ip(conf: dict[str, Any]) -> tuple[str, int, str | None] | None:
    """(address, prefix, gateway) from ``ipconfig0`` ``ip=a.b.c.d/nn[,gw=…]``, or None for dhcp/unset."""
    raw = conf.get("ipconfig0")
    if not raw:
        return None
    parts = dict(p.split("=", 1) for p in str(raw).split(",") if "=" in p)
    ip = parts.get("ip")
    if not ip or ip == "dhcp" or "/" not in ip:
        return None
    addr, prefix = ip.split("/", 1)
    return addr, int(prefix), parts.get("gw")


def new_record(vmid: int, conf: dict[str, Any], *, image: str | None = None, seeded: bool = False,
               lock: str | None = None) -> dict[str, Any]:
    return {
        "vmid": vmid,
        "node": NODE,
        "conf": conf,
        "snapshots": {},
        "lock": lock,
        "image": image,
        "container": None,
        "owned_images": [],
        "net_applied": None,
        "starttime": None,
        "seeded": seeded,
    }


def clone_record(vm: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(vm)
