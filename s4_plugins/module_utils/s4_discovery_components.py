# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Private module_utils of smartt.s4 (may change without notice). Target side: stdlib only, Python 3.6+.
"""Normalised components from packages and from binaries found outside the package manager; services; ports."""

import glob
import os
import re
import stat
import struct
import subprocess
import time

from ansible_collections.smartt.s4.plugins.module_utils.s4_discovery_packages import upstream_version

# ---------------------------------------------------------------------------------------------------------------
# package -> component rules: (regex on the package name, product, kind, role/sapi extractor)
# The first rule that matches a package wins; several packages may feed one component (keyed by product+cycle).

_PKG_RULES = [
    # PHP (Debian/Sury: php7.4-fpm, libapache2-mod-php8.2; RPM: php-fpm, php-cli; Alpine: php82-fpm)
    (re.compile(r"^php(\d+\.\d+)-(fpm|cli|cgi|phpdbg)$"), "php", "runtime"),
    (re.compile(r"^libapache2-mod-php(\d+\.\d+)$"), "php", "runtime"),
    (re.compile(r"^php(\d+\.\d+)-common$"), "php", "runtime"),
    (re.compile(r"^php-(fpm|cli|cgi|common)$"), "php", "runtime", "rpm"),
    (re.compile(r"^php(\d)(\d+)(?:-(fpm|cgi|apache2))?$"), "php", "runtime", "apk"),
    # web servers
    (re.compile(r"^nginx(?:-(core|light|full|extras))?$"), "nginx", "webserver"),
    (re.compile(r"^(apache2-bin|httpd|apache2)$"), "apache-http-server", "webserver"),
    # databases (servers only)
    (re.compile(r"^mariadb-server-core(?:-(\d+\.\d+))?$"), "mariadb", "database"),
    (re.compile(r"^(mariadb-server|MariaDB-server|mariadb)$"), "mariadb", "database"),
    (re.compile(r"^mysql-server-core-(\d+\.\d+)$"), "mysql", "database"),
    (re.compile(r"^(mysql-community-server|mysql-server|percona-server-server)$"), "mysql", "database"),
    (re.compile(r"^postgresql-(\d+)$"), "postgresql", "database"),
    (re.compile(r"^postgresql(\d+)?-server$"), "postgresql", "database"),
    (re.compile(r"^postgresql(\d+)$"), "postgresql", "database"),
    # caches
    (re.compile(r"^(redis-server|redis)$"), "redis", "cache"),
    (re.compile(r"^(valkey-server|valkey)$"), "valkey", "cache"),
    (re.compile(r"^memcached$"), "memcached", "cache"),
    # runtimes
    (re.compile(r"^python(\d\.\d+)-minimal$"), "python", "runtime"),
    (re.compile(r"^(python3|python3\d+)$"), "python", "runtime"),
    (re.compile(r"^nodejs$"), "nodejs", "runtime"),
    (re.compile(r"^openjdk-(\d+)-jre-headless$"), "java", "runtime"),
    (re.compile(r"^java-(\d+|1\.8\.0)-openjdk-headless$"), "java", "runtime"),
    (re.compile(r"^openjdk(\d+)-jre-headless$"), "java", "runtime"),
    (re.compile(r"^ruby(\d\.\d+)$"), "ruby", "runtime"),
    (re.compile(r"^libruby(\d\.\d+)$"), "ruby", "runtime"),
    (re.compile(r"^ruby$"), "ruby", "runtime"),
    # app servers
    (re.compile(r"^tomcat(\d+)$"), "apache-tomcat", "appserver"),
    (re.compile(r"^tomcat$"), "apache-tomcat", "appserver"),
    # libraries
    (re.compile(r"^(libssl3t64|libssl3|libssl1\.1|libssl1\.0\.2|openssl-libs|libssl3-openssl|libcrypto3)$"),
     "openssl", "library"),
]

# which packages say which SAPI of PHP
_PHP_SAPI_RE = re.compile(r"^(?:php\d*\.?\d*-(fpm|cli|cgi|phpdbg)|libapache2-mod-php[\d.]*|php\d+(?:-(fpm|cgi|apache2))?)$")

_SAPI_RANK = {"fpm": 0, "cli": 1, "apache2handler": 2, "cgi": 3, "phpdbg": 4}

# typical binary path per product (reported as `path` when the file exists)
_BIN_HINTS = {
    "nginx": ["/usr/sbin/nginx"],
    "apache-http-server": ["/usr/sbin/apache2", "/usr/sbin/httpd"],
    "mariadb": ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"],
    "mysql": ["/usr/sbin/mysqld"],
    "redis": ["/usr/bin/redis-server"],
    "valkey": ["/usr/bin/valkey-server"],
    "memcached": ["/usr/bin/memcached"],
    "nodejs": ["/usr/bin/node", "/usr/bin/nodejs"],
    "openssl": ["/usr/bin/openssl"],
}


def _cycle_paths(product, cycle):
    if product == "php":
        return ["/usr/sbin/php-fpm%s" % cycle, "/usr/bin/php%s" % cycle]
    if product == "python":
        return ["/usr/bin/python%s" % cycle]
    if product == "postgresql":
        return ["/usr/lib/postgresql/%s/bin/postgres" % cycle]
    if product == "ruby":
        return ["/usr/bin/ruby%s" % cycle, "/usr/bin/ruby"]
    if product == "apache-tomcat":
        return ["/usr/share/tomcat%s" % cycle]
    return []


def components_from_packages(packages, exists=os.path.exists):
    """Group packages into components: one per (product, cycle) for multi-version products, else per product."""
    comps = {}
    order = []
    for pkg in packages:
        name = pkg["name"]
        for rule in _PKG_RULES:
            rx, product, kind = rule[:3]
            if len(rule) > 3 and pkg.get("manager") != rule[3]:
                continue
            m = rx.match(name)
            if not m:
                continue
            uv = upstream_version(pkg["version"])
            if not uv:
                break
            if product == "php":
                cycle = ".".join(uv.split(".")[:2])
            elif product in ("python", "postgresql", "java", "ruby", "apache-tomcat"):
                cycle = uv.split(".")[0] if product in ("postgresql", "java", "apache-tomcat") else ".".join(uv.split(".")[:2])
            else:
                cycle = ""
            key = (product, cycle)
            c = comps.get(key)
            if c is None:
                c = {
                    "product": product, "version": uv, "raw_version": pkg["version"], "kind": kind,
                    "source": pkg["manager"], "package": name, "path": None,
                    "evidence": "%s: %s %s" % (pkg["manager"], name, pkg["version"]), "details": {},
                    "_packages": [],
                }
                comps[key] = c
                order.append(key)
            c["_packages"].append(name)
            if product == "php":
                sm = _PHP_SAPI_RE.match(name)
                if sm:
                    sapi = sm.group(1) or sm.group(2) or "apache2"
                    if name.startswith("libapache2-mod-php") or sapi == "apache2":
                        sapi = "apache2handler"
                    sapis = c["details"].setdefault("sapis", [])
                    if sapi not in sapis:
                        sapis.append(sapi)
                    # owning package: fpm, then cli, then the apache module, then anything else
                    if _SAPI_RANK.get(sapi, 9) < c.get("_rank", 10):
                        c["_rank"] = _SAPI_RANK.get(sapi, 9)
                        c["package"] = name
                        c["raw_version"] = pkg["version"]
                        c["evidence"] = "%s: %s %s" % (pkg["manager"], name, pkg["version"])
            elif product == "java":
                c["details"]["distribution"] = "openjdk"
            break
    out = []
    for key in order:
        c = comps[key]
        c["details"]["packages"] = sorted(set(c.pop("_packages")))
        c.pop("_rank", None)
        if "sapis" in c["details"]:
            c["details"]["sapis"].sort(key=lambda x: _SAPI_RANK.get(x, 9))
        product, cycle = key
        hints = _cycle_paths(product, cycle) or _BIN_HINTS.get(product, [])
        for h in hints:
            if exists(h):
                c["path"] = h
                break
        if product == "php" and not c["details"].get("sapis"):
            c["details"]["sapis"] = []
        out.append(c)
    return out


def os_component(os_fact):
    """The OS itself as a component (product = os id: debian, ubuntu, rhel, alpine ...)."""
    return {
        "product": os_fact["id"], "version": os_fact["version"] or None,
        "raw_version": os_fact.get("version_full") or os_fact["version"], "kind": "os", "source": "os-release",
        "package": None, "path": "/etc/os-release", "evidence": "os-release: %s" % (os_fact.get("pretty") or ""),
        "details": {"codename": os_fact.get("codename"), "kernel": os_fact.get("kernel")},
    }


# ---------------------------------------------------------------------------------------------------------------
# binaries outside the package manager

# basename regex -> (product, kind, argv after the binary, version regex over the output)
BINARY_PROBES = [
    (re.compile(r"^nginx$"), "nginx", "webserver", ["-v"], re.compile(r"nginx/(\d+\.\d+\.\d+)")),
    (re.compile(r"^(httpd|apache2)$"), "apache-http-server", "webserver", ["-v"],
     re.compile(r"Apache/(\d+\.\d+\.\d+)")),
    (re.compile(r"^php(?:\d+(?:\.\d+)?)?$"), "php", "runtime", ["-v"], re.compile(r"^PHP (\d+\.\d+\.\d+)", re.M)),
    (re.compile(r"^php-fpm(?:\d+(?:\.\d+)?)?$"), "php", "runtime", ["-v"],
     re.compile(r"^PHP (\d+\.\d+\.\d+)", re.M)),
    (re.compile(r"^(mysqld|mariadbd)$"), "mysqld", "database", ["--version"],
     re.compile(r"Ver (\d+\.\d+\.\d+)(-MariaDB)?")),
    (re.compile(r"^postgres$"), "postgresql", "database", ["--version"], re.compile(r"\(PostgreSQL\) (\d+(?:\.\d+)?)")),
    (re.compile(r"^redis-server$"), "redis", "cache", ["--version"], re.compile(r"v=(\d+\.\d+\.\d+)")),
    (re.compile(r"^memcached$"), "memcached", "cache", ["-V"], re.compile(r"memcached (\d+\.\d+\.\d+)")),
    (re.compile(r"^node$"), "nodejs", "runtime", ["--version"], re.compile(r"^v(\d+\.\d+\.\d+)", re.M)),
    (re.compile(r"^java$"), "java", "runtime", ["-version"], re.compile(r"version \"(\d+(?:\.\d+)*)")),
    (re.compile(r"^ruby$"), "ruby", "runtime", ["--version"], re.compile(r"^ruby (\d+\.\d+\.\d+)", re.M)),
    (re.compile(r"^python3(?:\.\d+)?$"), "python", "runtime", ["--version"], re.compile(r"Python (\d+\.\d+\.\d+)")),
    (re.compile(r"^openssl$"), "openssl", "library", ["version"], re.compile(r"OpenSSL (\d+\.\d+\.\d+[a-z]?)")),
]

# directories never entered when looking for binaries (big, and hold no servers)
_PRUNE_DIRS = {
    "node_modules", ".git", ".svn", ".hg", "__pycache__", "site-packages", "dist-packages", ".cache", "share",
    "include", "man", "doc", "docs", "locale", "wp-content", "vendor", "tmp", "logs", "log", "src", "test", "tests",
    "shims",
}


def _probe_for(name):
    for rx, product, kind, argv, vre in BINARY_PROBES:
        if rx.match(name):
            return product, kind, argv, vre
    return None


# ---------------------------------------------------------------------------------------------------------------
# untrusted files: open without following a final symlink, never block on a FIFO/device, stay inside a tree

_O_SAFE = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _inside(path, top):
    top = top.rstrip("/") or "/"
    return top == "/" or path == top or path.startswith(top + "/")


def open_regular(path, within=None):
    """(fd, stat) of a regular file opened read-only; raises OSError. The last component must not be a symlink;
    a FIFO/device is refused without blocking. With ``within``, a file reached through a symlinked directory
    that lies outside that tree is read only when it is owned by root (system/package files: Debian's
    roundcube links program/ to /usr/share/roundcube) or by the owner of the tree itself; another user's file
    is refused. Checked on the open descriptor (its real path and owner), so a directory swapped for a symlink
    during the check cannot redirect it."""
    fd = os.open(path, _O_SAFE)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(21, "not a regular file")
        if within is not None:
            try:
                real = os.readlink("/proc/self/fd/%d" % fd)
            except OSError:
                real = os.path.realpath(path)
            top = os.path.realpath(within)
            if not _inside(real, top) and st.st_uid != 0 and st.st_uid != os.stat(top).st_uid:
                raise OSError(1, "resolves outside %s to a file of uid %d (-> %s)" % (within, st.st_uid, real))
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def read_regular(path, limit, within=None):
    """Up to ``limit`` bytes of a regular file (see open_regular); raises OSError."""
    fd, _st = open_regular(path, within)
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit)


def is_elf(path):
    try:
        return read_regular(path, 4) == b"\x7fELF"
    except OSError:
        return False


def _dir_chain_problem(d, top):
    """Why directory ``d`` (a real path) or one above it up to ``top`` could be changed by a non-root user."""
    top_real = os.path.realpath(top).rstrip("/") or "/"
    while True:
        try:
            dst = os.lstat(d)
        except OSError as exc:
            return "directory %s unreadable: %s" % (d, exc.strerror or exc)
        if not stat.S_ISDIR(dst.st_mode):
            return "directory %s is not a real directory" % d
        if dst.st_uid != 0:
            return "directory %s owned by uid %d, not root" % (d, dst.st_uid)
        if dst.st_mode & 0o022:
            return "directory %s is group/world-writable (mode %04o)" % (d, stat.S_IMODE(dst.st_mode))
        if d == top_real or d == "/":
            return None
        d = os.path.dirname(d)


def _file_problem(st):
    if st.st_uid != 0:
        return "file owned by uid %d, not root" % st.st_uid
    if st.st_mode & 0o022:
        return "file is group/world-writable (mode %04o)" % stat.S_IMODE(st.st_mode)
    return None


def elf_load_refs(fd):
    """(interpreter, [DT_RPATH/DT_RUNPATH entries]) of the ELF open on ``fd``: what the dynamic loader takes
    from outside the file itself. (None, []) when it is not an ELF or the headers are out of range."""
    def at(off, n):
        return os.pread(fd, n, off)

    h = at(0, 64)
    if len(h) < 52 or h[:4] != b"\x7fELF" or h[4] not in (1, 2) or h[5] not in (1, 2):
        return None, []
    e = "<" if h[5] == 1 else ">"
    if h[4] == 2:
        phoff = struct.unpack(e + "Q", h[32:40])[0]
        phentsize, phnum = struct.unpack(e + "HH", h[54:58])
        phfmt, dfmt = e + "IIQQQQQQ", e + "qQ"
    else:
        phoff = struct.unpack(e + "I", h[28:32])[0]
        phentsize, phnum = struct.unpack(e + "HH", h[42:46])
        phfmt, dfmt = e + "IIIIIIII", e + "iI"
    loads, interp, dyn = [], None, None
    for i in range(min(phnum, 256)):
        raw = at(phoff + i * phentsize, struct.calcsize(phfmt))
        if len(raw) < struct.calcsize(phfmt):
            break
        f = struct.unpack(phfmt, raw)
        if h[4] == 2:
            ptype, off, vaddr, filesz = f[0], f[2], f[3], f[5]
        else:
            ptype, off, vaddr, filesz = f[0], f[1], f[2], f[4]
        if ptype == 1:
            loads.append((vaddr, off, filesz))
        elif ptype == 3:
            interp = at(off, min(filesz, 4096)).split(b"\0")[0].decode("utf-8", "replace")
        elif ptype == 2:
            dyn = (off, min(filesz, 65536))
    rpaths = []
    if dyn:
        raw = at(dyn[0], dyn[1])
        size = struct.calcsize(dfmt)
        strtab, offs = None, []
        for j in range(0, len(raw) - size + 1, size):
            tag, val = struct.unpack(dfmt, raw[j:j + size])
            if tag == 0:
                break
            if tag == 5:
                strtab = val
            elif tag in (15, 29):  # DT_RPATH, DT_RUNPATH
                offs.append(val)
        base = None
        for vaddr, off, filesz in loads:
            if strtab is not None and vaddr <= strtab < vaddr + filesz:
                base = off + (strtab - vaddr)
                break
        if base is not None:
            for o in offs:
                text = at(base + o, 4096).split(b"\0")[0].decode("utf-8", "replace")
                rpaths.extend(text.split(":"))
    return interp, rpaths


def _load_refs_problem(fd, real, top):
    """Why the loader would take code a non-root user controls: its interpreter or a RPATH/RUNPATH directory."""
    interp, rpaths = elf_load_refs(fd)
    top_real = os.path.realpath(top)
    if interp:
        ireal = os.path.realpath(interp)
        try:
            ifd, ist = open_regular(ireal)
            os.close(ifd)
        except OSError as exc:
            return "ELF interpreter %s: %s" % (interp, exc.strerror or exc)
        why = _file_problem(ist) or _dir_chain_problem(os.path.dirname(ireal), top if _inside(ireal, top_real)
                                                       else "/")
        if why:
            return "ELF interpreter %s: %s" % (interp, why)
    origin = os.path.dirname(real)
    for entry in rpaths:
        if not entry:
            continue
        d = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        if "$" in d:
            return "RPATH/RUNPATH entry %s cannot be checked" % entry
        d = os.path.realpath(os.path.join("/", d))  # relative entries: to the probe's cwd, /
        while not os.path.lexists(d) and d != "/":
            d = os.path.dirname(d)  # a missing directory: whoever may create it
        why = _dir_chain_problem(d, top if _inside(d, top_real) else "/")
        if why:
            return "RPATH/RUNPATH %s: %s" % (entry, why)
    return None


def trust_problem(path, top="/"):
    """Why ``path`` must not be executed as root, or None when it may be.

    Returns (problem, owner_uid, real_path). Trusted = the real file is a regular file owned by root and not
    group/world-writable, every directory from it up to ``top`` (``/`` on a host; a fixture root in tests)
    is a real directory owned by root and not group/world-writable, and so are the ELF interpreter and the
    RPATH/RUNPATH directories it names: then no other user can change what runs. Checked on an open
    descriptor (fstat) plus lstat of each directory, then the descriptor is compared with the path again, so
    a swap during the check is seen.
    """
    real = os.path.realpath(path)
    if not _inside(real, os.path.realpath(top)):
        return "resolves outside %s (-> %s)" % (top, real), None, real
    try:
        fd, st = open_regular(real)
    except OSError as exc:
        return "cannot open: %s" % (exc.strerror or exc), None, real
    try:
        why = (_file_problem(st) or _dir_chain_problem(os.path.dirname(real), top)
               or _load_refs_problem(fd, real, top))
        if why:
            return why, st.st_uid, real
        try:
            again = os.lstat(real)
        except OSError as exc:
            return "changed during the check: %s" % (exc.strerror or exc), st.st_uid, real
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
            return "changed during the check", st.st_uid, real
        return None, 0, real
    finally:
        os.close(fd)


def find_candidate_binaries(roots, max_depth, max_entries, deadline, skipped):
    """Executable files with a known name under ``roots``; directories reached through symlinks are not entered.

    Returns (paths, tomcats) sorted, bounded by depth, entries and deadline; problems go into ``skipped``.
    A symlink with a known name is returned as is (probe_binary resolves and checks its target).
    Tomcat installs are returned as directories holding bin/catalina.sh.
    """
    found = []
    tomcats = []
    seen = 0
    stack = [(r, 0) for r in roots]
    while stack:
        path, depth = stack.pop()
        if time.time() > deadline:
            skipped.append({"path": path, "reason": "time budget exhausted"})
            break
        try:
            it = list(os.scandir(path))
        except OSError as exc:
            if depth == 0 and getattr(exc, "errno", None) == 2:
                continue
            skipped.append({"path": path, "reason": "unreadable: %s" % (exc.strerror or exc)})
            continue
        for e in it:
            seen += 1
            if seen > max_entries:
                skipped.append({"path": path, "reason": "entry limit (%d) reached" % max_entries})
                stack = []
                break
            try:
                if e.is_symlink():
                    # a link to a file with a known name (e.g. bin/php -> php8.1): probe_binary checks the target
                    if _probe_for(e.name) is not None and os.path.isfile(e.path):
                        found.append(e.path)
                    continue
                if e.is_dir(follow_symlinks=False):
                    if e.name in _PRUNE_DIRS:
                        continue
                    if e.name == "bin" and os.path.isfile(os.path.join(e.path, "catalina.sh")):
                        tomcats.append(os.path.dirname(e.path))
                    if depth + 1 < max_depth:
                        stack.append((e.path, depth + 1))
                    continue
                if not e.is_file(follow_symlinks=False):
                    continue
                if _probe_for(e.name) is None:
                    continue
                st = e.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or not (st.st_mode & 0o111):
                    continue
                if not is_elf(e.path):
                    skipped.append({"path": e.path, "reason": "not an ELF binary (scripts are never run)"})
                    continue
                found.append(e.path)
            except OSError:
                continue
    return sorted(set(found)), sorted(set(tomcats))


def dpkg_owned(paths, info_dir="/var/lib/dpkg/info"):
    """The subset of ``paths`` listed in a dpkg *.list file (read only when there is something to check)."""
    if not paths or not os.path.isdir(info_dir):
        return set()
    wanted = dict((("\n" + p + "\n").encode("utf-8"), p) for p in paths)
    owned = set()
    try:
        names = os.listdir(info_dir)
    except OSError:
        return set()
    for n in names:
        if not n.endswith(".list"):
            continue
        try:
            with open(os.path.join(info_dir, n), "rb") as fh:
                data = b"\n" + fh.read()
        except OSError:
            continue
        if not data.endswith(b"\n"):
            data += b"\n"
        for needle, p in wanted.items():
            if needle in data:
                owned.add(p)
    return owned


_PROBE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C"}


def run_probe(argv, timeout, fd=None):
    """Run a version probe; returns (output, error). Never raises; a hang is killed after ``timeout`` s.

    argv[0] is an absolute path; no shell, a fixed minimal environment (no LD_PRELOAD/LD_LIBRARY_PATH ...),
    cwd=/, stdin from /dev/null, other descriptors closed. With ``fd`` (an open descriptor of the checked file)
    the kernel executes exactly that file (/proc/self/fd/N, like fexecve), not whatever the path names by then.
    """
    kw = {}
    if fd is not None and os.path.isdir("/proc/self/fd"):
        kw = {"executable": "/proc/self/fd/%d" % fd, "pass_fds": (fd,)}
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=dict(_PROBE_ENV), cwd="/", close_fds=True, start_new_session=True, **kw)
    except OSError as exc:
        return None, "cannot run: %s" % (exc.strerror or exc)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, 9)
        except OSError:
            p.kill()
        p.communicate()
        return None, "timed out after %ss" % timeout
    return out.decode("utf-8", "replace")[:4096], None


# Reading instead of running (files a non-root user could have written): version strings compiled into the
# binary, or metadata files of the install tree next to it. product -> regexes over the ELF bytes.
ELF_VERSION_STRINGS = {
    "php": [re.compile(rb"X-Powered-By: PHP/(\d+\.\d+\.\d+)")],
    "nginx": [re.compile(rb"nginx/(\d+\.\d+\.\d+)")],
    "apache-http-server": [re.compile(rb"Apache/(\d+\.\d+\.\d+)")],
    "mysqld": [re.compile(rb"(\d+\.\d+\.\d+)-(MariaDB)")],
    "postgresql": [re.compile(rb"\(PostgreSQL\) (\d+(?:\.\d+)?)")],
    "nodejs": [re.compile(rb"nodejs\.org/download/release/v(\d+\.\d+\.\d+)/")],
    "python": [re.compile(rb"\x00(3\.\d+\.\d+)\x00")],
    "ruby": [re.compile(rb"ruby (\d+\.\d+\.\d+)(?:p\d+)? \(")],
    "openssl": [re.compile(rb"OpenSSL (\d+\.\d+\.\d+[a-z]?) ")],
    "memcached": [re.compile(rb"memcached (\d+\.\d+\.\d+)")],
    "redis": [],
    "java": [],
}
ELF_READ_LIMIT = 256 * 1024 * 1024
_CHUNK = 8 * 1024 * 1024
_OVERLAP = 256

# (product, path relative to the install prefix = the binary's directory's parent, regex) read as text
_METADATA = [
    ("java", "release", re.compile(r'^JAVA_VERSION="(\d+(?:\.\d+)*)"', re.M)),
    ("nodejs", "include/node/node_version.h", None),
    ("python", "include/python{cycle}/patchlevel.h", re.compile(r'#define\s+PY_VERSION\s+"(\d+\.\d+\.\d+)')),
]
_NODE_H = re.compile(r"#define\s+NODE_(MAJOR|MINOR|PATCH)_VERSION\s+(\d+)")


def _scan_elf(path, regexes, limit=ELF_READ_LIMIT):
    """First match of any of ``regexes`` in the first ``limit`` bytes of the file, read in chunks; None if none."""
    fd, _st = open_regular(path)
    with os.fdopen(fd, "rb") as fh:
        tail = b""
        done = 0
        while done < limit:
            chunk = fh.read(min(_CHUNK, limit - done))
            if not chunk:
                break
            done += len(chunk)
            buf = tail + chunk
            for rx in regexes:
                m = rx.search(buf)
                if m:
                    return m
            tail = buf[-_OVERLAP:]
    return None


def read_version(path, product, name, within):
    """Identify a binary by reading only: (version, raw, detected_by, evidence, extra) or None.

    ``within``: the install tree the metadata files must lie in (they are opened without following a final
    symlink and must resolve inside it, so a link to another tenant's tree is not read).
    """
    cycle_m = re.search(r"(\d+\.\d+)$", name)
    prefix = os.path.dirname(os.path.dirname(path))
    for mproduct, rel, rx in _METADATA:
        if mproduct != product:
            continue
        if "{cycle}" in rel:
            if not cycle_m:
                continue
            rel = rel.replace("{cycle}", cycle_m.group(1))
        try:
            text = read_regular(os.path.join(prefix, rel), 65536, within).decode("utf-8", "replace")
        except OSError:
            continue
        if rx is None:  # node_version.h
            parts = dict(_NODE_H.findall(text))
            if {"MAJOR", "MINOR", "PATCH"} <= set(parts):
                v = "%s.%s.%s" % (parts["MAJOR"], parts["MINOR"], parts["PATCH"])
                return v, v, "metadata", "%s: NODE_*_VERSION %s" % (rel, v), None
            continue
        m = rx.search(text)
        if m:
            return m.group(1), m.group(1), "metadata", "%s: %s" % (rel, m.group(0)[:120]), None
    regexes = ELF_VERSION_STRINGS.get(product) or []
    if not regexes:
        return None
    m = _scan_elf(path, regexes)
    if not m:
        return None
    version = m.group(1).decode("ascii")
    if product == "python" and cycle_m and not version.startswith(cycle_m.group(1) + "."):
        return None
    extra = m.group(2).decode("ascii") if m.lastindex and m.lastindex >= 2 else None
    return version, version, "elf-strings", "ELF string: %s" % m.group(0).strip(b"\x00").decode("ascii", "replace"), extra


def probe_binary(path, timeout, top="/"):
    """(component or None, warning or None) for a binary found outside the package manager.

    Run (as root, see run_probe) only when trust_problem() finds nothing: a file that root alone can have
    written. Anything else is identified by reading only (read_version) and the warning says why it was not run.
    A symlink is resolved; an untrusted target is neither run nor read.
    """
    name = os.path.basename(path)
    spec = _probe_for(name)
    if spec is None:
        return None, None
    product, kind, argv, vre = spec
    problem, uid, real = trust_problem(path, top)
    is_link = os.path.islink(path)
    shown = "%s (-> %s)" % (path, real) if is_link else path
    if problem is None:
        try:
            fd, st = open_regular(real)
        except OSError as exc:
            return None, "version probe %s: cannot open: %s" % (shown, exc.strerror or exc)
        try:
            if not (st.st_mode & 0o111):
                return None, "version probe %s: not executable" % shown
            if os.read(fd, 4) != b"\x7fELF":
                return None, "version probe %s: not an ELF binary (scripts are never run)" % shown
            out, err = run_probe([real] + argv, timeout, fd)
        finally:
            os.close(fd)
        if err:
            return None, "version probe %s %s: %s" % (shown, " ".join(argv), err)
        m = vre.search(out or "")
        if not m:
            return None, "version probe %s %s: no version in output" % (shown, " ".join(argv))
        version = m.group(1)
        if product == "mysqld":
            product = "mariadb" if (m.group(2) or "MariaDB" in out) else "mysql"
        first = (out or "").strip().splitlines()[0] if (out or "").strip() else ""
        return {
            "product": product, "version": upstream_version(version) or version, "raw_version": version,
            "kind": kind, "source": "binary", "package": None, "path": path, "detected_by": "probe-root",
            "evidence": "%s %s: %s" % (name, " ".join(argv), first[:160]), "details": {},
        }, None
    owner = "owner uid %s" % (uid if uid is not None else "unknown")
    why = "not executed (%s; %s)" % (owner, problem)
    if is_link:
        return None, "binary %s: symlink target %s" % (shown, why)
    try:
        found = read_version(path, product, name, os.path.dirname(os.path.dirname(path)))
    except OSError as exc:
        return None, "binary %s %s; unreadable: %s" % (shown, why, exc.strerror or exc)
    if not found:
        return None, "binary %s %s; no version found by reading it" % (shown, why)
    version, raw, how, evidence, extra = found
    if product == "mysqld":
        product = "mariadb" if extra == "MariaDB" else "mysql"
    details = {"owner_uid": uid} if uid is not None else {}
    return {
        "product": product, "version": upstream_version(version) or version, "raw_version": raw, "kind": kind,
        "source": "binary", "package": None, "path": path, "detected_by": how, "evidence": evidence[:200],
        "details": details,
    }, "binary %s %s; version %s read (%s)" % (shown, why, version, how)


_TOMCAT_RE = re.compile(r"Apache Tomcat Version (\d+\.\d+\.\d+)")


def tomcat_component(home):
    """Tomcat found by its tree: version from RELEASE-NOTES (no program is run; the file must be a regular
    file inside the tree, never a symlink or FIFO planted there)."""
    for rel in ("RELEASE-NOTES", "RUNNING.txt"):
        try:
            text = read_regular(os.path.join(home, rel), 65536, home).decode("utf-8", "replace")
        except OSError:
            continue
        m = _TOMCAT_RE.search(text)
        if m:
            return {
                "product": "apache-tomcat", "version": m.group(1), "raw_version": m.group(1), "kind": "appserver",
                "source": "binary", "package": None, "path": home, "detected_by": "metadata",
                "evidence": "%s: %s" % (rel, m.group(0)),
                "details": {},
            }
    return None


# ---------------------------------------------------------------------------------------------------------------
# services and ports

_SERVICE_PRODUCTS = [
    (re.compile(r"^nginx"), "nginx"),
    (re.compile(r"^(apache2|httpd)"), "apache-http-server"),
    (re.compile(r"^php[\d.]*-fpm"), "php"),
    (re.compile(r"^(mariadb|mysql|mysqld)(@.*)?\.service$"), None),  # resolved from the installed components
    (re.compile(r"^postgresql"), "postgresql"),
    (re.compile(r"^redis"), "redis"),
    (re.compile(r"^valkey"), "valkey"),
    (re.compile(r"^memcached"), "memcached"),
    (re.compile(r"^tomcat"), "apache-tomcat"),
    (re.compile(r"^sshd?\.service$"), "openssh"),
]


def service_product(unit, installed_products):
    for rx, product in _SERVICE_PRODUCTS:
        if rx.match(unit):
            if product is None:
                for p in ("mariadb", "mysql"):
                    if p in installed_products:
                        return p
                return "mariadb" if unit.startswith("mariadb") else "mysql"
            return product
    return None


def parse_systemctl_units(text):
    """`systemctl list-units --type=service --all --plain --no-legend` -> {unit: (load, active, sub)}."""
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 4)
        if parts and parts[0] in ("●", "*"):
            parts = parts[1:]
        if len(parts) < 4 or not parts[0].endswith(".service"):
            continue
        out[parts[0]] = (parts[1], parts[2], parts[3])
    return out


_UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")


def unit_file_states(names, root="/"):
    """{unit: enabled|disabled|static|masked|alias|generated} from the unit directories (no D-Bus round trips;
    `systemctl list-unit-files` costs 0.2-0.7 s on a busy host, this costs milliseconds)."""

    def p(path):
        return path if root in ("/", "") else os.path.join(root, path.lstrip("/"))

    wanted = set()
    for d in ("/etc/systemd/system", "/run/systemd/system"):
        for sub in glob.glob(p(d) + "/*.wants") + glob.glob(p(d) + "/*.requires"):
            try:
                wanted.update(os.listdir(sub))
            except OSError:
                continue
    out = {}
    for n in names:
        template = re.sub(r"@[^.]*\.service$", "@.service", n)
        state = None
        for d in ("/etc/systemd/system", "/run/systemd/system"):
            f = p(os.path.join(d, n))
            if os.path.islink(f):
                target = os.readlink(f)
                state = "masked" if target == "/dev/null" else ("alias" if os.path.basename(target) != n else None)
                if state:
                    break
        if state is None and (n in wanted or (template != n and template in wanted)):
            state = "enabled"
        if state is None:
            text = None
            for d in _UNIT_DIRS:
                for cand in (n, template):
                    f = p(os.path.join(d, cand))
                    if os.path.isfile(f):
                        try:
                            with open(f, "r", errors="replace") as fh:
                                text = fh.read(65536)
                        except OSError:
                            text = ""
                        break
                if text is not None:
                    break
            if text is None:
                state = "generated"
            elif re.search(r"^\s*(WantedBy|RequiredBy|Alias|Also|UpheldBy)\s*=", text, re.M):
                state = "disabled"
            else:
                state = "static"
        out[n] = state
    return out


def services(units, unit_files, installed_products):
    """Loaded service units (any state); not-found units dropped. unit_files: {unit: enablement state}."""
    out = []
    for n in sorted(units):
        load, active, sub = units[n]
        if load == "not-found":
            continue
        out.append({"name": n, "active": active, "sub": sub, "enabled": unit_files.get(n, "unknown"),
                    "product": service_product(n, installed_products)})
    return out


def _hex_addr(h):
    """Decode the address column of /proc/net/tcp{,6} (little-endian 32-bit words)."""
    if len(h) == 8:
        b = bytes.fromhex(h)[::-1]
        return ".".join(str(x) for x in b)
    words = [bytes.fromhex(h[i:i + 8])[::-1] for i in range(0, 32, 8)]
    raw = b"".join(words)
    if raw[:12] == b"\x00" * 10 + b"\xff\xff":
        return ".".join(str(x) for x in raw[12:])
    groups = ["%x" % int.from_bytes(raw[i:i + 2], "big") for i in range(0, 16, 2)]
    # compress the longest run of zero groups
    best, best_len, cur, cur_len = -1, 0, -1, 0
    for i, g in enumerate(groups + ["x"]):
        if g == "0":
            if cur < 0:
                cur, cur_len = i, 0
            cur_len += 1
        else:
            if cur_len > best_len:
                best, best_len = cur, cur_len
            cur, cur_len = -1, 0
    if best_len >= 2:
        return ":".join(groups[:best]) + "::" + ":".join(groups[best + best_len:])
    return ":".join(groups)


def parse_proc_net(text, proto):
    """Listening sockets from /proc/net/tcp{,6} (state 0A) or udp (state 07): [(address, port, inode, uid)]."""
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        local, state, uid, inode = parts[1], parts[3], parts[7], parts[9]
        if proto.startswith("tcp") and state != "0A":
            continue
        if proto.startswith("udp") and state != "07":
            continue
        addr, _, port = local.partition(":")
        try:
            out.append((_hex_addr(addr), int(port, 16), int(inode), int(uid)))
        except ValueError:
            continue
    return out


def processes_by_uid(proc="/proc"):
    """{uid: [(pid, comm)]} from /proc/<pid>/status (readable even when /proc/<pid>/fd is not)."""
    out = {}
    try:
        pids = [x for x in os.listdir(proc) if x.isdigit()]
    except OSError:
        return out
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, "status")) as fh:
                name, uid = None, None
                for line in fh:
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ""
                    elif line.startswith("Uid:"):
                        uid = int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
        if uid is not None:
            out.setdefault(uid, []).append((int(pid), name))
    return out


def socket_owners(proc="/proc"):
    """{socket inode: (pid, comm)} by reading /proc/<pid>/fd links (unreadable processes are skipped)."""
    owners = {}
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        comm = None
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in owners:
                    continue
                if comm is None:
                    try:
                        with open(os.path.join(proc, pid, "comm")) as fh:
                            comm = fh.read().strip()
                    except OSError:
                        comm = ""
                owners[inode] = (int(pid), comm)
    return owners


_COMM_PRODUCTS = [
    (re.compile(r"^nginx"), "nginx"),
    (re.compile(r"^(apache2|httpd)$"), "apache-http-server"),
    (re.compile(r"^php-fpm"), "php"),
    (re.compile(r"^(mariadbd|mysqld)$"), None),
    (re.compile(r"^postgres"), "postgresql"),
    (re.compile(r"^redis-server"), "redis"),
    (re.compile(r"^valkey-server"), "valkey"),
    (re.compile(r"^memcached$"), "memcached"),
    (re.compile(r"^node(js)?$"), "nodejs"),
    (re.compile(r"^java$"), "java"),
    (re.compile(r"^sshd$"), "openssh"),
]


def comm_product(comm, installed_products):
    for rx, product in _COMM_PRODUCTS:
        if rx.match(comm or ""):
            if product is None:
                return "mariadb" if "mariadb" in installed_products or comm == "mariadbd" else "mysql"
            if product == "java" and "apache-tomcat" in installed_products:
                return "apache-tomcat"
            return product
    return None


def listening_ports(tables, owners, installed_products, by_uid=None):
    # by_uid may be a callable, called only when a socket has no readable owner
    """tables: [(proto, text)] of /proc/net files; returns the contract's ports list (deduplicated, sorted).

    A socket whose owner cannot be read from /proc/<pid>/fd (no CAP_SYS_PTRACE, e.g. in a container) is given
    to the one known server process running as the socket's uid, if there is exactly one (owner: uid).
    """
    seen = set()
    out = []
    for proto, text in tables:
        p = "tcp" if proto.startswith("tcp") else "udp"
        for addr, port, inode, uid in parse_proc_net(text, proto):
            key = (p, addr, port)
            if key in seen:
                continue
            seen.add(key)
            pid, comm = owners.get(inode, (None, None))
            how = "fd" if pid is not None else None
            if pid is None and by_uid is not None:
                if callable(by_uid):
                    by_uid = by_uid()
                known = [(xp, xc) for xp, xc in by_uid.get(uid, []) if comm_product(xc, installed_products)]
                products = set(comm_product(xc, installed_products) for _xp, xc in known)
                if len(products) == 1:
                    pid, comm = min(known)
                    how = "uid"
            out.append({"proto": p, "address": addr, "port": port, "process": comm, "pid": pid,
                        "product": comm_product(comm, installed_products) if comm else None, "owner": how})
    out.sort(key=lambda x: (x["proto"], x["port"], x["address"]))
    return out
