# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
#
# PRIVATE to the smartt.s4 collection: this API may change at any time.
"""Proxmox VE operations of a POC VM: find by name or clone, configure cloud-init, start, wait for the agent.

Stdlib only, Python 3.6+. ``api`` is any object with proxmoxer's path-style methods
``get(path, **params)``, ``post(path, **data)``, ``put(path, **data)`` and ``delete(path, **params)`` (a
``proxmoxer.ProxmoxAPI`` in production, a fake in unit tests). Booleans are sent as ``0``/``1`` (the API refuses
anything else) and ``sshkeys`` URL-encoded, as Proxmox expects.
"""

from __future__ import absolute_import, division, print_function

import ipaddress
import time

try:
    from urllib.parse import quote, unquote
except ImportError:  # pragma: no cover - Python 2 is not supported
    raise

__metaclass__ = type

CLOUDINIT_KEYS = ("ciuser", "sshkeys", "ipconfig0", "nameserver")
TASK_OK = ("OK",)
# Every VM the toolkit clones carries POC_TAG; a VM without it is never changed or deleted, whatever its name.
POC_TAG = "s4-poc"
# The go-live switch marks the VM live twice, where every run sees it whatever inventory it uses: the LIVE_TAG tag
# and a description line starting with LIVE_LINE. Either one means live (a VM that is live is never re-copied,
# reconfigured or destroyed).
LIVE_TAG = "s4-live"
LIVE_LINE = "s4-live:"


class PveError(Exception):
    """A Proxmox operation failed; ``step`` names it (connect, lookup, clone, config, start, resume, agent, delete)."""

    def __init__(self, step, message):
        Exception.__init__(self, "{0}: {1}".format(step, message))
        self.step = step
        self.message = message


def parse_pool(pool):
    """'10.0.0.100-10.0.0.199' -> list of ipaddress.IPv4Address (inclusive)."""
    try:
        first, last = [ipaddress.IPv4Address(p.strip()) for p in pool.split("-", 1)]
    except ValueError:
        raise PveError("address", "invalid address pool {0!r}: expected FIRST-LAST (IPv4)".format(pool)) from None
    if int(last) < int(first):
        raise PveError("address", "invalid address pool {0!r}: last address before first".format(pool))
    return [ipaddress.IPv4Address(i) for i in range(int(first), int(last) + 1)]


def ipconfig_ip(value):
    """The static IPv4 address of an ``ipconfigN`` value ('ip=10.0.0.5/24,gw=10.0.0.1' -> '10.0.0.5'), or None."""
    for part in str(value or "").split(","):
        k, _, v = part.partition("=")
        if k.strip() == "ip" and v and v not in ("dhcp", "manual"):
            return v.split("/", 1)[0]
    return None


def allocate(pool, used):
    """The first address of ``pool`` not in ``used``."""
    used = set(str(u) for u in used)
    for addr in parse_pool(pool):
        if str(addr) not in used:
            return str(addr)
    raise PveError("address", "no free address left in pool {0} ({1} in use)".format(pool, len(used)))


def normalize_tags(value):
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value or "").replace(",", ";").replace(" ", ";").split(";")
    return sorted(set(t.strip().lower() for t in items if t and t.strip()))


def live_marks(conf):
    """Which go-live markers a VM config carries: ``{"tag": bool, "description": bool}``."""
    lines = str((conf or {}).get("description") or "").splitlines()
    return {"tag": LIVE_TAG in normalize_tags((conf or {}).get("tags")),
            "description": any(line.strip().startswith(LIVE_LINE) for line in lines)}


def live_description(description, line):
    """``description`` with every go-live line removed and, when ``line`` is given, ``line`` appended."""
    kept = [x for x in str(description or "").splitlines() if not x.strip().startswith(LIVE_LINE)]
    while kept and not kept[-1].strip():
        kept.pop()
    if line:
        kept.append(line)
    return "\n".join(kept)


def guard(vm, conf, name, vmid=None):
    """Refuse (PveError ``guard``) to act on ``vm`` (found by ``name``) unless it carries POC_TAG and, when the POC
    recorded a ``vmid``, has that id. Nothing has been changed when this raises."""
    found = int(vm["vmid"])
    if POC_TAG not in normalize_tags((conf or {}).get("tags")):
        raise PveError("guard", "VM {0} is named {1} but has no {2} tag (tags: {3}): it is not a POC VM made by "
                                "this toolkit, refusing to change or delete it; nothing was changed".format(
                                    found, name, POC_TAG, ";".join(normalize_tags((conf or {}).get("tags"))) or "none"))
    if vmid is not None and int(vmid) != found:
        raise PveError("guard", "VM {0} is named {1} but the POC recorded vmid {2}: not the POC's VM, refusing to "
                                "change or delete it; nothing was changed".format(found, name, vmid))


def config_changes(current, desired):
    """Keys of ``desired`` whose value differs from ``current`` (tags compared as sets, sshkeys decoded)."""
    changes = {}
    for key, want in desired.items():
        have = current.get(key)
        if key == "tags":
            if normalize_tags(have) != normalize_tags(want):
                changes[key] = ";".join(normalize_tags(want))
        elif key == "sshkeys":
            if unquote(str(have or "")).strip() != str(want or "").strip():
                changes[key] = quote(str(want).strip() + "\n", safe="")
        elif str(have if have is not None else "") != str(want):
            changes[key] = want
    return changes


class PocVm:
    """One POC VM, found by name. ``sleep``/``clock`` are injectable for tests."""

    def __init__(self, api, node="pve", sleep=time.sleep, clock=time.monotonic, task_timeout=120):
        self.api = api
        self.node = node
        self.sleep = sleep
        self.clock = clock
        self.task_timeout = task_timeout

    # -- reading ---------------------------------------------------------------------------------------------------
    def _call(self, step, method, path, **kw):
        try:
            return getattr(self.api, method)(path, **kw)
        except PveError:
            raise
        except Exception as exc:  # proxmoxer ResourceException, requests errors ...
            raise PveError(step, "{0} {1}: {2}".format(method.upper(), path, exc)) from None

    def version(self):
        return self._call("connect", "get", "version")

    def resources(self):
        return self._call("lookup", "get", "cluster/resources", type="vm") or []

    def find(self, name):
        """The VM resource named ``name`` (not a template), or None; several VMs with that name is an error."""
        found = [r for r in self.resources() if r.get("name") == name and not r.get("template")
                 and r.get("type", "qemu") == "qemu"]
        if len(found) > 1:
            raise PveError("lookup", "{0} VMs are named {1} (ids {2}): remove the duplicates".format(
                len(found), name, ", ".join(str(r.get("vmid")) for r in found)))
        return found[0] if found else None

    def template(self, vmid):
        for r in self.resources():
            if int(r.get("vmid", -1)) == int(vmid):
                if not r.get("template"):
                    raise PveError("template", "VM {0} exists but is not a template".format(vmid))
                return r
        raise PveError("template", "template {0} does not exist on this Proxmox".format(vmid))

    def config(self, vmid, node=None):
        return self._call("config", "get", "nodes/{0}/qemu/{1}/config".format(node or self.node, vmid)) or {}

    def status(self, vmid, node=None):
        return self._call("status", "get", "nodes/{0}/qemu/{1}/status/current".format(node or self.node, vmid)) or {}

    def used_addresses(self):
        used = set()
        for r in self.resources():
            if r.get("type", "qemu") != "qemu":
                continue
            conf = self.config(r["vmid"], r.get("node"))
            for key, value in conf.items():
                if key.startswith("ipconfig"):
                    ip = ipconfig_ip(value)
                    if ip:
                        used.add(ip)
        return used

    # -- tasks -----------------------------------------------------------------------------------------------------
    def wait_task(self, step, upid, node=None):
        if not upid:
            return
        deadline = self.clock() + self.task_timeout
        path = "nodes/{0}/tasks/{1}/status".format(node or self.node, upid)
        while True:
            st = self._call(step, "get", path) or {}
            if st.get("status") == "stopped":
                exit_status = str(st.get("exitstatus", ""))
                if exit_status in TASK_OK or exit_status.startswith("WARN"):
                    return
                raise PveError(step, "task {0} failed: {1}".format(upid, exit_status or "no exit status"))
            if self.clock() > deadline:
                raise PveError(step, "task {0} still running after {1}s".format(upid, self.task_timeout))
            self.sleep(0.5)

    # -- changing --------------------------------------------------------------------------------------------------
    def clone(self, template, name, tags=None):
        """Full clone of ``template`` named ``name``; ``tags`` are set right after the clone (a clone cannot take
        them), so an interrupted run leaves a VM the next run recognises as its own."""
        newid = int(self._call("clone", "get", "cluster/nextid"))
        upid = self._call("clone", "post", "nodes/{0}/qemu/{1}/clone".format(self.node, template),
                          newid=newid, name=name, full=1)
        self.wait_task("clone", upid)
        if tags:
            self.set_config(newid, {"tags": tags})
        return newid

    def set_config(self, vmid, changes, node=None):
        if changes:
            self._call("config", "put", "nodes/{0}/qemu/{1}/config".format(node or self.node, vmid), **changes)

    def start(self, vmid, node=None):
        upid = self._call("start", "post", "nodes/{0}/qemu/{1}/status/start".format(node or self.node, vmid))
        self.wait_task("start", upid, node)

    def resume(self, vmid, node=None):
        upid = self._call("resume", "post", "nodes/{0}/qemu/{1}/status/resume".format(node or self.node, vmid))
        self.wait_task("resume", upid, node)

    def stop(self, vmid, node=None):
        upid = self._call("stop", "post", "nodes/{0}/qemu/{1}/status/stop".format(node or self.node, vmid))
        self.wait_task("stop", upid, node)

    def destroy(self, vmid, node=None):
        upid = self._call("delete", "delete", "nodes/{0}/qemu/{1}".format(node or self.node, vmid), purge=1)
        self.wait_task("delete", upid, node)

    def agent_address(self, vmid, timeout, node=None, want=None):
        """Poll the guest agent until it reports an IPv4 address (``want`` if given); return it."""
        deadline = self.clock() + timeout
        path = "nodes/{0}/qemu/{1}/agent/network-get-interfaces".format(node or self.node, vmid)
        last = "no answer"
        while True:
            try:
                res = self.api.get(path) or {}
            except Exception as exc:  # 500 'QEMU guest agent is not running' while booting
                last = str(exc)
            else:
                addrs = []
                for iface in res.get("result") or []:
                    if iface.get("name") == "lo":
                        continue
                    for a in iface.get("ip-addresses") or []:
                        if a.get("ip-address-type") == "ipv4" and not a.get("ip-address", "").startswith("127."):
                            addrs.append(a["ip-address"])
                if want and want in addrs:
                    return want
                if addrs and not want:
                    return addrs[0]
                last = "agent reports {0}".format(", ".join(addrs) or "no IPv4 address")
            if self.clock() > deadline:
                raise PveError("agent", "VM {0}: no guest agent address after {1}s ({2})".format(vmid, timeout, last))
            self.sleep(1)
