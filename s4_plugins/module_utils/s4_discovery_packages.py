# -*- coding: utf-8 -*-
# SPDX-License-Identifier: MIT
# Private module_utils of smartt.s4 (may change without notice). Target side: stdlib only, Python 3.6+.
"""Package databases read straight from disk (dpkg status, apk installed db) or one rpm query, plus os-release."""

import re

RPM_QUERYFORMAT = "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{VENDOR}\\n"

_EPOCH_RE = re.compile(r"^\d+:")
_UPSTREAM_RE = re.compile(r"^(\d+(?:\.\d+)*[a-z]?)")


def upstream_version(raw):
    """Upstream version from a package or banner version: epoch, distro revision and suffixes stripped.

    '1:10.5.29-0+deb11u1' -> '10.5.29'; '3.5.1+dfsg+~3.5.5-7' -> '3.5.1'; '1.1.1w-0+deb11u1' -> '1.1.1w'
    """
    if raw is None:
        return None
    v = _EPOCH_RE.sub("", str(raw).strip())
    v = v.lstrip("vV")
    m = _UPSTREAM_RE.match(v)
    return m.group(1) if m else None


def parse_os_release(text):
    """Parse /etc/os-release content into a dict of its KEY=value pairs (quotes removed)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value.replace('\\"', '"').replace("\\$", "$").replace("\\\\", "\\")
    return out


def os_facts(os_release, kernel, debian_version=None):
    """The `os` fact and the `distro` id from parsed os-release, the kernel release and /etc/debian_version."""
    os_id = (os_release.get("ID") or "linux").lower()
    version_id = os_release.get("VERSION_ID") or ""
    codename = os_release.get("VERSION_CODENAME") or None
    version_full = version_id
    if os_id == "debian" and debian_version:
        dv = debian_version.strip()
        if re.match(r"^\d+(\.\d+)*$", dv):
            version_full = dv
        elif not version_id:
            # testing/sid: "trixie/sid"
            codename = codename or dv.split("/")[0]
    if not codename:
        m = re.search(r"\(([a-z]+)\)", os_release.get("VERSION", ""))
        if m:
            codename = m.group(1)
    if os_id in ("ubuntu",):
        major = ".".join(version_id.split(".")[:2])
    else:
        major = version_id.split(".")[0] if version_id else ""
    return {
        "id": os_id,
        "version": major,
        "version_full": version_full or None,
        "codename": codename,
        "kernel": kernel,
        "pretty": os_release.get("PRETTY_NAME"),
        "like": (os_release.get("ID_LIKE") or "").split() or None,
    }, "%s-%s" % (os_id, major) if major else os_id


def _deb_origin(version, maintainer):
    v = version or ""
    if "sury" in v or re.search(r"\+0~\d{8}", v):
        return "sury"
    if "nodesource" in v:
        return "nodesource"
    if "+maria~" in v:
        return "mariadb.org"
    if "pgdg" in v:
        return "pgdg"
    if "ubuntu" in v:
        return "ubuntu"
    if re.search(r"[+~]deb\d+u\d+", v):
        return "debian"
    m = (maintainer or "").lower()
    if "debian.org" in m or "alioth" in m:
        return "debian"
    return None


def parse_dpkg_status(text):
    """Installed packages from /var/lib/dpkg/status content.

    Each: {name, version, arch, source, manager: dpkg, origin}. Only packages whose Status ends in 'installed'.
    """
    packages = []
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        last = None
        for line in para.splitlines():
            if not line:
                continue
            if line[0] in " \t":
                continue  # continuation (Description, Conffiles): not needed
            key, sep, value = line.partition(":")
            if not sep:
                continue
            last = key.strip()
            if last in ("Package", "Status", "Version", "Architecture", "Source", "Maintainer"):
                fields[last] = value.strip()
        name = fields.get("Package")
        status = fields.get("Status", "").split()
        if not name or len(status) < 3 or status[2] not in ("installed",):
            continue
        version = fields.get("Version", "")
        source = fields.get("Source") or name
        source = source.split(" ")[0]
        packages.append({
            "name": name,
            "version": version,
            "arch": fields.get("Architecture"),
            "source": source,
            "manager": "dpkg",
            "origin": _deb_origin(version, fields.get("Maintainer")),
        })
    return packages


def parse_rpm_qa(text):
    """Parse `rpm -qa --queryformat RPM_QUERYFORMAT` output."""
    packages = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 5:
            continue
        parts += [""] * (7 - len(parts))
        name, epoch, version, release, arch, srpm, vendor = parts[:7]
        full = "%s-%s" % (version, release) if release else version
        if epoch and epoch not in ("0", "(none)"):
            full = "%s:%s" % (epoch, full)
        source = None
        if srpm and srpm != "(none)":
            # name-version-release.src.rpm
            m = re.match(r"^(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm$", srpm)
            source = m.group(1) if m else srpm
        packages.append({
            "name": name,
            "version": full,
            "arch": None if arch in ("", "(none)") else arch,
            "source": source or name,
            "manager": "rpm",
            "origin": None if vendor in ("", "(none)") else vendor,
        })
    return packages


def parse_apk_installed(text):
    """Parse /lib/apk/db/installed (paragraphs of 'X:value' lines; P name, V version, A arch, o origin)."""
    packages = []
    for para in re.split(r"\n\s*\n", text):
        fields = {}
        for line in para.splitlines():
            if len(line) > 2 and line[1] == ":" and line[0] in "PVAo":
                fields.setdefault(line[0], line[2:].strip())
        if "P" not in fields:
            continue
        packages.append({
            "name": fields["P"],
            "version": fields.get("V", ""),
            "arch": fields.get("A"),
            "source": fields.get("o") or fields["P"],
            "manager": "apk",
            "origin": "alpine",
        })
    return packages
