#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: poc_vm
short_description: Find-or-clone, configure, start and address a POC VM on Proxmox VE in one call
description:
  - Looks the VM up by name; when it does not exist, clones it (full clone) from a cloud-init template.
  - Applies name, tags, memory, cores and cloud-init settings (user, SSH keys, static address, name server), starts
    the VM and waits until the QEMU guest agent reports its address. A rerun finds the same VM and changes nothing.
  - A VM found stopped (for example after an interrupted run) is started; one found paused or suspended is resumed.
  - The address comes from O(address), else the VM's existing static address, else the first free address of
    O(address_pool) (addresses of every VM's C(ipconfigN) count as used).
  - With O(state=absent) the VM is stopped and destroyed (purged). With O(state=info) nothing is changed; the
    connection, the credentials and the template are checked and the VM, when it exists, is returned.
  - A VM is only ever changed or deleted when it carries the C(s4-poc) tag (every clone this module makes gets it
    first) and, when O(vmid) is given (the id the POC recorded), has that id. A VM with the POC's name that fails
    either check (for example a client's own VM named like a POC) is refused with an error in every state, nothing
    changed.
  - "Go-live marker: O(state=live) adds the C(s4-live) tag and a description line starting with C(s4-live:) to the
    VM (the go-live switch), O(state=not_live) removes both (its rollback). While either marker is on the VM,
    O(state=present) and O(state=absent) are refused: a live POC is neither re-copied nor destroyed, whatever
    inventory the run uses."
  - "Runs on the controller (C(delegate_to: localhost)); needs the C(proxmoxer) Python library there."
version_added: "0.1.0"
author: Smartt S4 team
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  api_host:
    description: Proxmox host name or address. Defaults to the E(PVE_HOST) environment variable.
    type: str
  api_port:
    description: API port. Defaults to E(PVE_PORT), else 8006.
    type: int
  api_user:
    description: User (V(root@pam)). Defaults to E(PVE_USER).
    type: str
  api_password:
    description: Password (ticket login). Defaults to E(PVE_PASSWORD). Ignored when a token is given.
    type: str
  api_token_id:
    description: API token id, V(name) or V(user@realm!name). Defaults to E(PVE_TOKEN_ID).
    type: str
  api_token_secret:
    description: API token secret. Defaults to E(PVE_TOKEN_SECRET).
    type: str
  ca_path:
    description: CA bundle to verify the API's TLS certificate with. Defaults to E(PVE_CA).
    type: path
  validate_certs:
    description: Verify the TLS certificate (against O(ca_path) when given).
    type: bool
    default: true
  node:
    description: Proxmox node that clones are created on.
    type: str
    default: pve
  name:
    description: VM name (also its host name), for example V(poc-acme-acme-blog).
    type: str
    required: true
  state:
    description:
      - V(present) creates/updates and starts the VM, V(absent) destroys it, V(info) only reads.
      - V(live) puts the go-live marker on an existing VM, V(not_live) removes it (nothing else changes).
    type: str
    choices: [present, absent, info, live, not_live]
    default: present
  vmid:
    description:
      - The VM id the POC recorded (its inventory entry's C(s4_poc.vmid)). When given, the VM found by O(name) must
        have this id, otherwise the module fails without changing anything.
    type: int
  template:
    description: VM id of the cloud-init template to clone. Required for O(state=present).
    type: int
  tags:
    description: Proxmox tags of the VM (C(s4-poc) is always added).
    type: list
    elements: str
    default: []
  ciuser:
    description: Cloud-init user that receives O(sshkeys).
    type: str
    default: root
  sshkeys:
    description: Public SSH keys (OpenSSH format, one per line) for O(ciuser).
    type: str
  address:
    description: Static IPv4 address (without prefix) of the VM; see the description for the default.
    type: str
  address_pool:
    description: Range C(FIRST-LAST) to allocate the address from.
    type: str
    default: 10.89.40.100-10.89.40.199
  prefix:
    description: Prefix length of the address.
    type: int
    default: 24
  gateway:
    description: Default gateway of the VM.
    type: str
  nameserver:
    description: DNS server(s) of the VM, space separated.
    type: str
  memory:
    description: Memory in MiB.
    type: int
  cores:
    description: CPU cores.
    type: int
  wait_timeout:
    description: Seconds to wait for the guest agent's address (and for each Proxmox task).
    type: int
    default: 180
requirements:
  - proxmoxer >= 2.0 (on the controller)
notes:
  - The module talks to the API only through proxmoxer; booleans are sent as 0/1 and SSH keys URL-encoded.
"""

EXAMPLES = r"""
- name: Clone the POC VM of acme-blog (or find it) and wait for its address
  smartt.s4.poc_vm:
    name: poc-acme-acme-blog
    template: 9000
    tags: [s4-poc, client-acme]
    sshkeys: "{{ lookup('ansible.builtin.file', '.lab/ssh/id_ed25519.pub') }}"
    gateway: 10.89.40.1
  delegate_to: localhost
  register: poc_vm

- name: Check Proxmox credentials and the template before changing anything
  smartt.s4.poc_vm:
    name: poc-acme-acme-blog
    template: 9000
    state: info
  delegate_to: localhost

- name: Mark the POC VM live (go-live switch); refused unless it is the POC's tagged VM 105
  smartt.s4.poc_vm:
    name: poc-acme-acme-blog
    vmid: 105
    state: live
  delegate_to: localhost

- name: Destroy the POC VM (refused while it is marked live)
  smartt.s4.poc_vm:
    name: poc-acme-acme-blog
    vmid: 105
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
vmid:
  description: VM id (null when absent).
  returned: always
  type: int
  sample: 100
node:
  description: Node the VM lives on.
  returned: when the VM exists
  type: str
  sample: pve
address:
  description: IPv4 address reported by the guest agent (present), or the configured static address (info).
  returned: when the VM exists
  type: str
  sample: 10.89.40.100
status:
  description: VM status (running, stopped) or V(absent).
  returned: always
  type: str
  sample: running
created:
  description: Whether this run cloned the VM.
  returned: always
  type: bool
  sample: false
power_action:
  description: V(started) when this run started a stopped VM, V(resumed) when it resumed a paused one.
  returned: when the VM was not running (O(state=present))
  type: str
  sample: started
config_changes:
  description: Configuration keys this run set (SSH keys shown as V(<changed>)).
  returned: always
  type: dict
  sample: {tags: s4-poc;client-acme}
tags:
  description: The VM's tags (normalised, sorted) as found before this run.
  returned: always
  type: list
  elements: str
  sample: [client-acme, s4-poc]
live:
  description: Whether the VM carries a go-live marker (tag or description line) after this run.
  returned: always
  type: bool
  sample: false
live_marks:
  description: Which go-live markers the VM carried before this run.
  returned: always
  type: dict
  sample: {tag: false, description: false}
template:
  description: The template resource (state info/present).
  returned: when O(template) is given
  type: dict
  sample: {vmid: 9000, name: tmpl-debian13, template: 1}
version:
  description: Proxmox API version answer.
  returned: always
  type: dict
  sample: {version: 8.4.1}
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.smartt.s4.plugins.module_utils.s4_pve import (
    LIVE_LINE,
    LIVE_TAG,
    POC_TAG,
    PocVm,
    PveError,
    allocate,
    config_changes,
    guard,
    ipconfig_ip,
    live_description,
    live_marks,
    normalize_tags,
)

try:
    from proxmoxer import ProxmoxAPI

    HAS_PROXMOXER = True
    PROXMOXER_ERR = None
except ImportError:
    HAS_PROXMOXER = False
    PROXMOXER_ERR = traceback.format_exc()


PAUSED = ("paused", "suspended")


def module_args():
    return dict(
        api_host=dict(type="str"),
        api_port=dict(type="int"),
        api_user=dict(type="str"),
        api_password=dict(type="str", no_log=True),
        api_token_id=dict(type="str", no_log=False),
        api_token_secret=dict(type="str", no_log=True),
        ca_path=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        node=dict(type="str", default="pve"),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent", "info", "live", "not_live"]),
        vmid=dict(type="int"),
        template=dict(type="int"),
        tags=dict(type="list", elements="str", default=[]),
        ciuser=dict(type="str", default="root"),
        sshkeys=dict(type="str", no_log=False),
        address=dict(type="str"),
        address_pool=dict(type="str", default="10.89.40.100-10.89.40.199"),
        prefix=dict(type="int", default=24),
        gateway=dict(type="str"),
        nameserver=dict(type="str"),
        memory=dict(type="int"),
        cores=dict(type="int"),
        wait_timeout=dict(type="int", default=180),
    )


def connect(p):
    """A ProxmoxAPI from the options, falling back to the PVE_* environment variables."""
    env = os.environ
    host = p["api_host"] or env.get("PVE_HOST")
    port = p["api_port"] or int(env.get("PVE_PORT") or 8006)
    user = p["api_user"] or env.get("PVE_USER")
    password = p["api_password"] or env.get("PVE_PASSWORD")
    token_id = p["api_token_id"] or env.get("PVE_TOKEN_ID")
    token_secret = p["api_token_secret"] or env.get("PVE_TOKEN_SECRET")
    ca = p["ca_path"] or env.get("PVE_CA")
    if not host:
        raise PveError("connect", "no Proxmox host: set api_host or PVE_HOST (scripts/lab pve-env)")
    verify = (ca if ca else True) if p["validate_certs"] else False
    kw = dict(port=port, verify_ssl=verify, timeout=10)
    if token_id and token_secret:
        if "!" in token_id:
            user, token_id = token_id.split("!", 1)
        if not user:
            raise PveError("connect", "a token needs its user: api_user/PVE_USER or api_token_id user@realm!name")
        kw.update(user=user, token_name=token_id, token_value=token_secret)
    elif user and password:
        kw.update(user=user, password=password)
    else:
        raise PveError("connect", "no Proxmox credentials: give a token (api_token_id/api_token_secret) or "
                                  "api_user/api_password (or the PVE_* environment variables)")
    try:
        return ProxmoxAPI(host, **kw)
    except Exception as exc:  # ticket login refused, host unreachable, TLS
        raise PveError("connect", "cannot log in to Proxmox at {0}:{1}: {2}".format(host, port, exc)) from None


def run(module, api):
    p = module.params
    ops = PocVm(api, node=p["node"], task_timeout=p["wait_timeout"])
    result = dict(changed=False, vmid=None, status="absent", created=False, config_changes={})
    result["version"] = ops.version()
    if p["template"] is not None:
        result["template"] = ops.template(p["template"])
    vm = ops.find(p["name"])
    found = {}
    marks = {"tag": False, "description": False}
    if vm:
        found = ops.config(vm["vmid"], vm.get("node"))
        guard(vm, found, p["name"], p["vmid"])  # nothing is read further, let alone changed, on a foreign VM
        marks = live_marks(found)
    elif p["vmid"] is not None and p["state"] != "present":
        other = [r for r in ops.resources() if int(r.get("vmid", -1)) == p["vmid"]]
        if other:
            module.warn("no VM is named {0}; VM {1} (the id the POC recorded) is named {2!r} and was left alone".format(
                p["name"], p["vmid"], other[0].get("name")))
    result.update(tags=normalize_tags(found.get("tags")), live=any(marks.values()), live_marks=marks)

    if p["state"] == "info":
        if vm:
            result.update(vmid=int(vm["vmid"]), node=vm.get("node"), status=vm.get("status", "unknown"),
                          address=ipconfig_ip(found.get("ipconfig0")))
        return result

    if p["state"] in ("live", "not_live"):
        return mark(module, ops, vm, found, marks, result)

    if vm and result["live"]:
        raise PveError("guard", "VM {0} ({1}) is marked live ({2}): the source proxies its sites to it since the "
                                "go-live switch. Roll back first (poc_golive.yml -e s4_poc_golive_rollback={1}); "
                                "nothing was changed".format(vm["vmid"], p["name"], live_what(marks)))

    if p["state"] == "absent":
        if not vm:
            return result
        vmid, node = int(vm["vmid"]), vm.get("node") or p["node"]
        result.update(changed=True, vmid=vmid, node=node)
        if module._diff:
            result["diff"] = dict(before={"name": p["name"], "vmid": vmid}, after={})
        if not module.check_mode:
            if ops.status(vmid, node).get("status") == "running":
                ops.stop(vmid, node)
            ops.destroy(vmid, node)
        return result

    # present
    if p["template"] is None:
        module.fail_json(msg="template is required with state=present", step="validate")
    before = {}
    tags = normalize_tags(list(p["tags"]) + [POC_TAG])
    if vm:
        vmid, node = int(vm["vmid"]), vm.get("node") or p["node"]
        before = found
    elif module.check_mode:
        vmid, node = None, p["node"]
    else:
        vmid, node = ops.clone(p["template"], p["name"], tags=";".join(tags)), p["node"]
        result["created"] = True
    address = p["address"] or ipconfig_ip(before.get("ipconfig0"))
    if not address:
        address = allocate(p["address_pool"], ops.used_addresses())
    desired = {"name": p["name"], "agent": "1", "ciuser": p["ciuser"],
               "ipconfig0": "ip={0}/{1}".format(address, p["prefix"]) + (",gw={0}".format(p["gateway"])
                                                                         if p["gateway"] else "")}
    desired["tags"] = ";".join(tags)
    if p["sshkeys"]:
        desired["sshkeys"] = p["sshkeys"]
    for key in ("nameserver", "memory", "cores"):
        if p[key] is not None:
            desired[key] = p[key]
    current = ops.config(vmid, node) if vmid is not None and result["created"] else before
    changes = config_changes(current, desired)
    result["config_changes"] = dict((k, "<changed>" if k == "sshkeys" else v) for k, v in changes.items())
    if changes or result["created"] or vm is None:
        result["changed"] = True
    if module._diff and changes:
        result["diff"] = dict(
            before=dict((k, current.get(k)) for k in changes if k != "sshkeys"),
            after=dict((k, v) for k, v in changes.items() if k != "sshkeys"),
        )
    if module.check_mode:
        result.update(vmid=vmid, node=node, address=address, status=vm.get("status", "unknown") if vm else "absent")
        if vm and vm.get("status") != "running":
            result["changed"] = True  # would be started
        return result
    power = ops.status(vmid, node)
    running = power.get("status") == "running"
    # a VM found stopped (e.g. an interrupted run) is started; one found paused/suspended is resumed (its agent
    # would never answer otherwise)
    paused = running and power.get("qmpstatus") in PAUSED
    if changes:
        if running and any(k in changes for k in ("ciuser", "sshkeys", "ipconfig0", "nameserver")):
            module.warn("cloud-init settings changed on a running VM; they apply at its next boot")
        ops.set_config(vmid, changes, node)
    if not running:
        ops.start(vmid, node)
        result.update(changed=True, power_action="started")
    elif paused:
        ops.resume(vmid, node)
        result.update(changed=True, power_action="resumed")
    result.update(vmid=vmid, node=node, status="running",
                  address=ops.agent_address(vmid, p["wait_timeout"], node, want=address))
    return result


def live_what(marks):
    return " and ".join(w for w, on in (("tag " + LIVE_TAG, marks["tag"]),
                                        ("description line '" + LIVE_LINE + " ...'", marks["description"])) if on)


def mark(module, ops, vm, conf, marks, result):
    """state=live / not_live: put the go-live marker (tag + description line) on the VM or take it off."""
    p = module.params
    want = p["state"] == "live"
    if not vm:
        if want:
            raise PveError("lookup", "no VM is named {0}: there is no POC VM to mark live".format(p["name"]))
        return result
    vmid, node = int(vm["vmid"]), vm.get("node") or p["node"]
    tags = normalize_tags(conf.get("tags"))
    changes = {}
    if marks["tag"] != want:
        changes["tags"] = ";".join(sorted(set(tags) | {LIVE_TAG}) if want else [t for t in tags if t != LIVE_TAG])
    if marks["description"] != want:
        line = "{0} {1} is live, the source proxies its sites to it (set by poc_golive.yml, removed by its " \
               "rollback)".format(LIVE_LINE, p["name"]) if want else None
        text = live_description(conf.get("description"), line)
        if text:
            changes["description"] = text
        else:
            changes["delete"] = "description"
    result.update(vmid=vmid, node=node, status=vm.get("status", "unknown"), config_changes=changes,
                  changed=bool(changes), live=want)
    if module._diff and changes:
        result["diff"] = dict(before={"tags": conf.get("tags"), "description": conf.get("description", "")},
                              after={"tags": changes.get("tags", conf.get("tags")),
                                     "description": "" if "delete" in changes
                                     else changes.get("description", conf.get("description", ""))})
    if changes and not module.check_mode:
        ops.set_config(vmid, changes, node)
    return result


def main():
    module = AnsibleModule(argument_spec=module_args(), supports_check_mode=True,
                           required_if=[("state", "present", ("template",))])
    if not HAS_PROXMOXER:
        module.fail_json(msg=missing_required_lib("proxmoxer"), exception=PROXMOXER_ERR)
    try:
        api = connect(module.params)
        result = run(module, api)
    except PveError as exc:
        module.fail_json(msg="Proxmox {0} failed: {1}".format(exc.step, exc.message), step=exc.step)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
