#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: software_facts
short_description: Discover the software on a host (packages, components, services, ports, sites and web apps)
version_added: "0.1.0"
description:
  - Read-only discovery for the S4 policy. Returns C(ansible_facts.s4_software) in the shape documented in
    C(docs/CONTRACTS.md) section 1.
  - Packages are read straight from the package databases (C(/var/lib/dpkg/status), C(/lib/apk/db/installed))
    or from one C(rpm -qa --queryformat) call.
  - Components are normalised products (endoflife.date ids) with version and evidence, from packages and from
    binaries with a known name found outside the package manager under O(binary_search_paths).
  - Such a binary is run (with a version flag, a timeout O(probe_timeout), an absolute path, a fixed minimal
    environment, cwd C(/) and stdin closed; never through a shell) only when root alone can have written it -
    the file is owned by root and not group/world-writable, and so is every directory up to C(/); a symlink's
    target must pass the same test. Any other binary (for example one in a tenant's home) is never executed;
    its version is read from version strings compiled into it or from metadata files of its install tree
    (C(release), C(include/node/node_version.h), C(include/pythonX.Y/patchlevel.h)), and a warning names the
    path, the owner uid and why it was not run. C(detected_by) in each such component says how the version was
    found (C(probe-root), C(elf-strings) or C(metadata)).
  - Services come from one C(systemctl list-units) and one C(systemctl list-unit-files) call; listening ports
    from C(/proc/net/*) and the C(/proc/<pid>/fd) socket links.
  - Sites are the CMDB sites given in O(sites) plus every nginx/apache vhost with a docroot. Each docroot is
    walked without following symlinks out of it, bounded by O(walk_max_depth), O(walk_max_files) and
    O(time_budget); what was skipped is reported per site. Tenant files are opened as regular files only (no
    FIFO or device, no final symlink, nothing resolving outside the app's tree), and a docroot that a tenant's
    symlink leads into another user's tree is not walked.
  - Problems that do not stop the gathering (unreadable package database, missing docroot, hanging binary)
    are listed in C(warnings).
author: S4 toolkit
options:
  host:
    description: Inventory hostname to record in the facts (defaults to the node name).
    type: str
  sites:
    description: CMDB sites of this host (C(s4_sites) hostvar). Each needs C(name) and C(docroot).
    type: list
    elements: dict
    default: []
  include_packages:
    description: Return the full package list (set false to keep facts small; components are still built).
    type: bool
    default: true
  binary_search_paths:
    description: Roots searched for servers and runtimes installed outside the package manager (C(/home) means
      each C(/home/*)).
    type: list
    elements: path
    default: [/opt, /usr/local, /home, /root]
  binary_search_depth:
    description: Maximum directory depth below each search root.
    type: int
    default: 6
  binary_search_max_entries:
    description: Maximum directory entries looked at in the binary search.
    type: int
    default: 50000
  walk_max_depth:
    description: Maximum directory depth walked below a docroot.
    type: int
    default: 8
  walk_max_files:
    description: Maximum files looked at per docroot.
    type: int
    default: 20000
  time_budget:
    description: Seconds for the whole gathering; walks and probes stop (and say so) when it is spent.
    type: float
    default: 30
  probe_timeout:
    description: Seconds a version probe may run before it is killed and reported.
    type: float
    default: 5
attributes:
  check_mode:
    support: full
    details: The module never changes the host.
  diff_mode:
    support: none
  facts:
    support: full
notes:
  - Target side uses the Python standard library only and runs on Python 3.6+.
"""

EXAMPLES = r"""
- name: Discover the software of an in-scope host
  smartt.s4.software_facts:
    host: "{{ inventory_hostname }}"
    sites: "{{ s4_sites | default([]) }}"

- name: Small facts (no package list), tighter walk
  smartt.s4.software_facts:
    include_packages: false
    walk_max_files: 5000
    time_budget: 10
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    s4_software:
      description: Discovered software, see C(docs/CONTRACTS.md) section 1.
      returned: always
      type: dict
      sample:
        schema: 1
        host: mvps-acme-01
        distro: debian-11
        os: {id: debian, version: "11", version_full: "11.11", codename: bullseye, kernel: 6.1.0-40-amd64}
        packages:
          - {name: php7.4-fpm, version: 7.4.33-1+deb11u5, arch: amd64, source: php7.4, manager: dpkg, origin: debian}
        components:
          - product: php
            version: 7.4.33
            raw_version: 7.4.33-1+deb11u5
            kind: runtime
            source: dpkg
            package: php7.4-fpm
            path: /usr/sbin/php-fpm7.4
            evidence: "dpkg: php7.4-fpm 7.4.33-1+deb11u5"
            details: {sapis: [fpm, cli]}
          - product: nodejs
            version: 20.18.0
            raw_version: 20.18.0
            kind: runtime
            source: binary
            package: null
            path: /opt/node-v20.18.0/bin/node
            detected_by: probe-root
            evidence: "node --version: v20.18.0"
            details: {}
        services:
          - {name: php7.4-fpm.service, active: active, sub: running, enabled: enabled, product: php}
        ports:
          - {proto: tcp, address: 0.0.0.0, port: 80, process: nginx, pid: 123, product: nginx}
        sites:
          - name: acme-blog
            client: acme
            docroot: /srv/www/acme-blog
            server: nginx
            php: {version: "7.4", pool: www, socket: /run/php/php7.4-fpm.sock, sapi: fpm}
            apps: [{product: wordpress, version: 5.7.14, path: /srv/www/acme-blog, evidence: wp-includes/version.php}]
            libraries: [{product: jquery, version: 3.5.1, path: /srv/www/acme-blog/wp-includes/js/jquery/jquery.js}]
            walk: {files: 1520, dirs: 120, truncated: false, skipped: []}
        warnings:
          - "binary /home/evil/bin/php not executed (owner uid 12345; file owned by uid 12345, not root);
            version 8.1.2 read (elf-strings)"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.smartt.s4.plugins.module_utils.s4_discovery import DEFAULTS, gather


def module_args():
    return dict(
        host=dict(type="str"),
        sites=dict(type="list", elements="dict", default=[]),
        include_packages=dict(type="bool", default=True),
        binary_search_paths=dict(type="list", elements="path", default=DEFAULTS["binary_search_paths"]),
        binary_search_depth=dict(type="int", default=DEFAULTS["binary_search_depth"]),
        binary_search_max_entries=dict(type="int", default=DEFAULTS["binary_search_max_entries"]),
        walk_max_depth=dict(type="int", default=DEFAULTS["walk_max_depth"]),
        walk_max_files=dict(type="int", default=DEFAULTS["walk_max_files"]),
        time_budget=dict(type="float", default=DEFAULTS["time_budget"]),
        probe_timeout=dict(type="float", default=DEFAULTS["probe_timeout"]),
    )


def main():
    module = AnsibleModule(argument_spec=module_args(), supports_check_mode=True)
    p = module.params
    bad = []
    for i, s in enumerate(p["sites"] or []):
        docroot = str(s.get("docroot") or "") if isinstance(s, dict) else ""
        if not isinstance(s, dict) or not s.get("name") or not docroot.startswith("/"):
            bad.append("sites[%d]: needs a name and an absolute docroot" % i)
        elif ".." in docroot.split("/") or any(ord(ch) < 32 or ord(ch) == 127 for ch in docroot):
            bad.append("sites[%d]: docroot must not contain '..' or control characters" % i)
    for k in ("binary_search_depth", "walk_max_depth", "walk_max_files", "binary_search_max_entries"):
        if p[k] < 0:
            bad.append("%s must be >= 0" % k)
    for k in ("time_budget", "probe_timeout"):
        if p[k] <= 0:
            bad.append("%s must be > 0" % k)
    if bad:
        module.fail_json(msg="invalid options: " + "; ".join(bad))
    facts = gather(dict((k, p[k]) for k in module_args()))
    module.exit_json(changed=False, ansible_facts={"s4_software": facts})


if __name__ == "__main__":
    main()
