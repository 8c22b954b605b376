# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Private module_utils of smartt.s4 (may change without notice). Target side: stdlib only, Python 3.6+.
"""Software discovery: builds ansible_facts.s4_software (docs/CONTRACTS.md section 1). Read-only."""

import datetime
import glob
import os
import platform
import shutil
import socket
import subprocess
import time

from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_components as comp
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_packages as pk
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_sites as st

SCHEMA = 1

DEFAULTS = {
    "host": None,
    "sites": [],
    "include_packages": True,
    "binary_search_paths": ["/opt", "/usr/local", "/home", "/root"],
    "binary_search_depth": 6,
    "binary_search_max_entries": 50000,
    "walk_max_depth": 8,
    "walk_max_files": 20000,
    "time_budget": 30.0,
    "probe_timeout": 5.0,
    "root": "/",
}


def _read_text(path, warnings=None, what=None):
    try:
        with open(path, "r", errors="replace") as fh:
            return fh.read()
    except OSError as exc:
        if warnings is not None:
            warnings.append("%s unreadable (%s): %s" % (what or path, path, exc.strerror or exc))
        return None


def _run(argv, timeout):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace").strip()[:300])
    return p.stdout.decode("utf-8", "replace"), None


class Gatherer(object):
    """One discovery pass. ``root`` lets tests point it at a fixture tree (paths are joined under it)."""

    def __init__(self, options=None):
        self.o = dict(DEFAULTS)
        self.o.update({k: v for k, v in (options or {}).items() if v is not None})
        self.root = self.o["root"]
        self.warnings = []
        self.timings = {}
        self.deadline = time.time() + float(self.o["time_budget"])

    def p(self, path):
        if self.root in ("/", ""):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def _timed(self, name, fn, *args):
        t0 = time.time()
        try:
            return fn(*args)
        finally:
            self.timings[name] = round(time.time() - t0, 4)

    # -- OS ---------------------------------------------------------------------------------------------------
    def os_info(self):
        text = _read_text(self.p("/etc/os-release")) or _read_text(self.p("/usr/lib/os-release"), self.warnings,
                                                                      "os-release")
        rel = pk.parse_os_release(text or "")
        debv = _read_text(self.p("/etc/debian_version"))
        kernel = platform.release() if self.root in ("/", "") else None
        return pk.os_facts(rel, kernel, debv)

    # -- packages ---------------------------------------------------------------------------------------------
    def packages(self):
        status = self.p("/var/lib/dpkg/status")
        apk_db = self.p("/lib/apk/db/installed")
        if os.path.exists(status):
            text = _read_text(status, self.warnings, "dpkg status database")
            return (pk.parse_dpkg_status(text) if text is not None else []), "dpkg"
        if os.path.exists(apk_db):
            text = _read_text(apk_db, self.warnings, "apk installed database")
            return (pk.parse_apk_installed(text) if text is not None else []), "apk"
        rpm = shutil.which("rpm") if self.root in ("/", "") else None
        if rpm:
            out, err = _run([rpm, "-qa", "--queryformat", pk.RPM_QUERYFORMAT], 60)
            if err:
                self.warnings.append("rpm package database unreadable: rpm -qa: %s" % err)
                return [], "rpm"
            return pk.parse_rpm_qa(out), "rpm"
        self.warnings.append("no package database found (dpkg status, apk installed db or rpm)")
        return [], None

    # -- binaries outside the package manager -----------------------------------------------------------------
    def outside_binaries(self, manager, packaged):
        roots = []
        for r in self.o["binary_search_paths"]:
            if r == "/home":
                roots.extend(sorted(glob.glob(self.p("/home/*"))))
            else:
                roots.append(self.p(r))
        skipped = []
        found, tomcats = comp.find_candidate_binaries(
            roots, int(self.o["binary_search_depth"]), int(self.o["binary_search_max_entries"]), self.deadline,
            skipped)
        reals = dict((path, os.path.realpath(path)) for path in found)
        owned = set()
        if found and manager == "dpkg":
            owned = comp.dpkg_owned(sorted(set(found) | set(reals.values())), self.p("/var/lib/dpkg/info"))
        out = []
        seen_real = set()
        top = self.root if self.root not in ("/", "") else "/"
        # real files first: a symlink to a file already seen adds nothing
        for path in sorted(found, key=lambda x: (os.path.islink(x), x)):
            real = reals[path]
            if path in owned or real in owned:
                continue
            if real in seen_real:
                continue
            seen_real.add(real)
            if time.time() > self.deadline:
                self.warnings.append("time budget exhausted before probing %s" % path)
                break
            # run only what root alone can have written; anything else is identified by reading it
            c, warn = comp.probe_binary(path, float(self.o["probe_timeout"]), top)
            if warn:
                self.warnings.append(warn)
            if c:
                out.append(c)
        for home in tomcats:
            c = comp.tomcat_component(home)
            if c:
                out.append(c)
        for s in skipped:
            self.warnings.append("binary search: %s: %s" % (s["path"], s["reason"]))
        return out

    # -- services and ports -----------------------------------------------------------------------------------
    def services(self, products):
        if self.root not in ("/", "") or not os.path.isdir("/run/systemd/system"):
            return []
        systemctl = shutil.which("systemctl") or "/bin/systemctl"
        units_out, err = _run([systemctl, "list-units", "--type=service", "--all", "--plain", "--no-legend",
                               "--no-pager"], 20)
        if err:
            self.warnings.append("systemctl list-units failed: %s" % err)
            return []
        units = comp.parse_systemctl_units(units_out)
        return comp.services(units, comp.unit_file_states(units, self.root), products)

    def ports(self, products):
        tables = []
        for proto in ("tcp", "tcp6", "udp", "udp6"):
            text = _read_text(self.p("/proc/net/%s" % proto))
            if text is not None:
                tables.append((proto, text))
        if not tables:
            self.warnings.append("no /proc/net/tcp: listening ports not gathered")
            return []
        owners = comp.socket_owners(self.p("/proc"))
        return comp.listening_ports(tables, owners, products, lambda: comp.processes_by_uid(self.p("/proc")))

    # -- web server configs -----------------------------------------------------------------------------------
    def vhosts(self):
        vhosts = []
        patterns = [
            ("nginx", "/etc/nginx/nginx.conf"), ("nginx", "/etc/nginx/sites-enabled/*"),
            ("nginx", "/etc/nginx/conf.d/*.conf"),
            ("apache", "/etc/apache2/sites-enabled/*"), ("apache", "/etc/httpd/conf/httpd.conf"),
            ("apache", "/etc/httpd/conf.d/*.conf"), ("apache", "/etc/apache2/conf.d/*.conf"),
        ]
        seen = set()
        for kind, pattern in patterns:
            for path in sorted(glob.glob(self.p(pattern))):
                real = os.path.realpath(path)
                if real in seen or not os.path.isfile(real):
                    continue
                seen.add(real)
                text = _read_text(path, self.warnings, "%s config" % kind)
                if text is None:
                    continue
                shown = path if self.root in ("/", "") else "/" + os.path.relpath(path, self.root)
                if kind == "nginx":
                    vhosts.extend(st.parse_nginx_config(text, shown))
                else:
                    vhosts.extend(st.parse_apache_config(text, shown))
        return vhosts

    def fpm_pools(self):
        pools = []
        for pattern in ("/etc/php/*/fpm/pool.d/*.conf", "/etc/php-fpm.d/*.conf", "/etc/php*/php-fpm.d/*.conf",
                        "/etc/opt/remi/php*/php-fpm.d/*.conf"):
            for path in sorted(glob.glob(self.p(pattern))):
                text = _read_text(path, self.warnings, "php-fpm pool")
                if text is not None:
                    shown = path if self.root in ("/", "") else "/" + os.path.relpath(path, self.root)
                    pools.extend(st.parse_fpm_pool(text, shown))
        return pools

    # -- all --------------------------------------------------------------------------------------------------
    def gather(self):
        t_start = time.time()
        started = datetime.datetime.utcnow().replace(microsecond=0).isoformat() + "Z"
        os_fact, distro = self._timed("os", self.os_info)
        packages, manager = self._timed("packages", self.packages)
        components = [comp.os_component(os_fact)]
        components.extend(self._timed("components", comp.components_from_packages, packages,
                                      lambda x: os.path.exists(self.p(x))))
        packaged_products = set(c["product"] for c in components)
        components.extend(self._timed("binaries", self.outside_binaries, manager, packaged_products))
        products = set(c["product"] for c in components)
        services = self._timed("services", self.services, products)
        ports = self._timed("ports", self.ports, products)
        vhosts = self._timed("vhosts", self.vhosts)
        pools = self.fpm_pools()
        mod_php = st.apache_mod_php(self.root)
        cmdb_sites = []
        for s in self.o["sites"] or []:
            s = dict(s)
            s["docroot"] = self.p(s["docroot"]) if self.root not in ("/", "") else s["docroot"]
            cmdb_sites.append(s)
        sites, warns = self._timed("sites", st.build_sites, cmdb_sites,
                                   [dict(v, root=self.p(v["root"]) if v.get("root") and self.root not in ("/", "")
                                         else v.get("root")) for v in vhosts],
                                   pools, mod_php, int(self.o["walk_max_depth"]), int(self.o["walk_max_files"]),
                                   self.deadline)
        if self.root not in ("/", ""):
            warns = [w.replace(self.root.rstrip("/"), "") for w in warns]
        self.warnings.extend(warns)
        if self.root not in ("/", ""):
            for s in sites:
                s["docroot"] = "/" + os.path.relpath(s["docroot"], self.root)
        # which component serves each site's PHP
        self.timings["total"] = round(time.time() - t_start, 4)
        return {
            "schema": SCHEMA,
            "gathered_at": started,
            "host": self.o["host"] or socket.gethostname(),
            "os": os_fact,
            "distro": distro,
            "package_manager": manager,
            "packages": packages if self.o["include_packages"] else [],
            "package_count": len(packages),
            "components": components,
            "services": services,
            "ports": ports,
            "sites": sites,
            "warnings": self.warnings,
            "timings": self.timings,
        }


def gather(options=None):
    return Gatherer(options).gather()
