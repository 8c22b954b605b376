# SPDX-License-Identifier: MIT
"""Inventory plugin smartt.s4.cmdb: a thin wrapper over s4.cmdb (validation and model)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: cmdb
short_description: S4 inventory from the CMDB YAML file
version_added: "0.1.0"
description:
  - Reads the estate's CMDB (schema in C(docs/CMDB.md)) from a YAML file whose name ends in C(cmdb.yml) or
    C(cmdb.yaml) and whose C(plugin) key is C(smartt.s4.cmdb).
  - The whole CMDB is validated first. Every problem is reported (file, host and field) and nothing is added to
    the inventory when any is found.
  - "Groups: C(s4_in_scope) (services mvps, shared_hosting, internal), C(s4_out_of_scope) (unmanaged,
    colocation, connectivity), C(service_<class>) and C(client_<id>) (a C(-) in a client id becomes C(_))."
  - "Hostvars: C(ansible_host), C(s4_service), C(s4_in_scope), C(s4_os), C(s4_public), C(s4_clients),
    C(s4_sites), C(s4_licences), C(s4_domain), plus the host's C(vars) that pass validation."
  - "The CMDB is untrusted input: every name and path is checked against a strict pattern (site names, client ids,
    host names, addresses, domains, aliases, contacts, applications, database names, document roots; see
    C(docs/CMDB.md)), and a string holding a Jinja marker (C({{), C({%), C({#)) anywhere is refused. The data is
    handed to Ansible as untrusted (never templated)."
  - "C(compose), C(groups) and C(keyed_groups) may not use lookups (C(lookup), C(query), C(q)), and C(compose) may
    not set a variable C(vars) could not set."
  - "Neither C(vars) nor C(compose) may set the toolkit's own settings (C(s4_*) variables: role defaults and
    playbook switches); C(s4_lab_*) lab metadata is the one exception."
  - "A host's C(vars) may not hold connection settings (C(ansible_*)) unless I(allow_vars) lists them, and only
    C(ansible_port), C(ansible_ssh_port), C(ansible_user), C(ansible_ssh_user), C(ansible_timeout),
    C(ansible_ssh_timeout), C(ansible_ssh_retries), C(ansible_pipelining) and C(ansible_ssh_pipelining) may be
    listed. Settings that run commands or choose executables (C(ansible_ssh_common_args), C(ansible_ssh_extra_args),
    C(ansible_*_executable), C(ansible_python_interpreter), C(ansible_connection), C(ansible_become*),
    C(ansible_shell_*), ...) are always refused."
  - C(compose), C(groups) and C(keyed_groups) work as in any constructable plugin; they run after the CMDB
    hostvars are set.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks this file as a source for this plugin.
    required: true
    choices: [smartt.s4.cmdb]
  cmdb:
    description: The CMDB itself (version, domain, clients, hosts), see C(docs/CMDB.md).
    required: true
    type: dict
  allow_vars:
    description:
      - Connection settings (C(ansible_*) hostvars) the hosts' C(vars) may set, for example C([ansible_port]).
      - Only C(ansible_port), C(ansible_ssh_port), C(ansible_user), C(ansible_ssh_user), C(ansible_timeout),
        C(ansible_ssh_timeout), C(ansible_ssh_retries), C(ansible_pipelining) and C(ansible_ssh_pipelining) may be
        listed; any other name is an error. Their values are checked (port number, login name, seconds, boolean).
    type: list
    elements: str
    default: []
requirements:
  - the C(s4) Python package of the S4 toolkit on the controller
"""

EXAMPLES = r"""
# inventories/site/cmdb.yml (any file name ending in cmdb.yml)
plugin: smartt.s4.cmdb
strict: true
allow_vars: [ansible_port]
keyed_groups:
  - key: s4_os
    prefix: os
compose:
  site_count: s4_sites | length
cmdb:
  version: 1
  domain: smartt.example
  clients:
    acme: {name: Acme Ltd, contacts: [ops@acme.example]}
  hosts:
    mvps-acme-01:
      service: mvps
      address: 10.89.40.11
      os: debian-11
      clients: [acme]
      vars: {ansible_port: 2222}
      sites:
        - {name: acme-blog, client: acme, domain: blog.acme.example, docroot: /srv/www/acme-blog}
"""

import hashlib  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402

try:
    from s4 import cmdb as _cmdb
except ImportError as _exc:  # pragma: no cover - reported when the plugin is used
    _cmdb = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "smartt.s4.cmdb"

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        return os.path.basename(path).endswith(("cmdb.yml", "cmdb.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        if _cmdb is None:
            raise AnsibleParserError(f"smartt.s4.cmdb needs the s4 package of the S4 toolkit: {_IMPORT_ERROR}")
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise AnsibleParserError(f"{path}: cannot read: {exc}") from None
        digest = hashlib.sha256(raw).hexdigest()

        # validate with our own loader first: it sees duplicate hosts and reports every problem at once
        model = None
        cached = None
        self._read_config_data(path)
        # compose/groups/keyed_groups are templated on the controller: checked on every parse (cached or not)
        constructed = _cmdb.constructed_problems(
            {k: self.get_option(k) for k in ("compose", "groups", "keyed_groups")}, path,
            self.get_option("allow_vars") or [])
        if constructed:
            raise AnsibleParserError(str(_cmdb.CmdbError(constructed)))
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        if use_cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                cached = None
            if not isinstance(cached, dict) or cached.get("sha256") != digest:
                cached = None
        if cached is None:
            try:
                model = _cmdb.loads(raw.decode("utf-8"), path, self.get_option("allow_vars") or [])
            except UnicodeDecodeError as exc:
                raise AnsibleParserError(f"{path}: not UTF-8 text: {exc}") from None
            except _cmdb.CmdbError as exc:
                raise AnsibleParserError(str(exc)) from None
            cached = {
                "sha256": digest,
                "hosts": {name: {"vars": model.hostvars(name), "groups": model.groups(name)} for name in model.hosts},
            }
            if self.get_option("cache"):
                self._cache[cache_key] = cached
        self._populate(cached["hosts"])

    def _populate(self, hosts):
        strict = self.get_option("strict")
        for group in ("s4_in_scope", "s4_out_of_scope"):
            self.inventory.add_group(group)
        for name, entry in hosts.items():
            for group in entry["groups"]:
                self.inventory.add_group(group)
            self.inventory.add_host(name)
            for group in entry["groups"]:
                self.inventory.add_child(group, name)
            for key, value in entry["vars"].items():
                self.inventory.set_variable(name, key, value)
            hostvars = self.inventory.get_host(name).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            hostvars = self.inventory.get_host(name).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
