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
    description: V(present) creates/updates and starts the VM, V(absent) destroys it, V(info) only reads.
    type: str
    choices: [present, absent, info]
    default: present
  template:
    description: VM id of the cloud-init template to clone. Required for O(state=present).
    type: int
  tags:
    description: Proxmox tags of the VM.
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

- name: Destroy the POC VM
  smartt.s4.poc_vm:
    name: poc-acme-acme-blog
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
    PocVm,
    PveError,
    allocate,
    config_changes,
    ipconfig_ip,
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
        state=dict(type="str", default="present", choices=["present", "absent", "info"]),
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

    if p["state"] == "info":
        if vm:
            conf = ops.config(vm["vmid"], vm.get("node"))
            result.update(vmid=int(vm["vmid"]), node=vm.get("node"), status=vm.get("status", "unknown"),
                          address=ipconfig_ip(conf.get("ipconfig0")))
        return result

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
    if vm:
        vmid, node = int(vm["vmid"]), vm.get("node") or p["node"]
        before = ops.config(vmid, node)
    elif module.check_mode:
        vmid, node = None, p["node"]
    else:
        vmid, node = ops.clone(p["template"], p["name"]), p["node"]
        result["created"] = True
    address = p["address"] or ipconfig_ip(before.get("ipconfig0"))
    if not address:
        address = allocate(p["address_pool"], ops.used_addresses())
    desired = {"name": p["name"], "agent": "1", "ciuser": p["ciuser"],
               "ipconfig0": "ip={0}/{1}".format(address, p["prefix"]) + (",gw={0}".format(p["gateway"])
                                                                         if p["gateway"] else "")}
    if p["tags"]:
        desired["tags"] = ";".join(p["tags"])
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
