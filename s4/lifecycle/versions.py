"""Version parsing and ordering: Debian (dpkg), RPM (rpmvercmp) and upstream/vendor strings.

Pure functions, no I/O. The Debian and RPM comparators follow the reference C implementations
(dpkg ``verrevcmp``/``dpkg_version_compare`` and rpm ``rpmvercmp`` incl. ``~`` and ``^``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container
from dataclasses import dataclass

_DIGITS = frozenset("0123456789")


class VersionError(ValueError):
    """A version string that cannot be parsed."""


# --------------------------------------------------------------------------------------------- Debian


def _deb_order(c: str) -> int:
    if c == "~":
        return -1
    if c in _DIGITS:
        return 0
    if ("a" <= c <= "z") or ("A" <= c <= "Z"):
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's verrevcmp(): compare an upstream version or a revision."""
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        first_diff = 0
        while (i < la and a[i] not in _DIGITS) or (j < lb and b[j] not in _DIGITS):
            ac = _deb_order(a[i]) if i < la else 0
            bc = _deb_order(b[j]) if j < lb else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and a[i] in _DIGITS and j < lb and b[j] in _DIGITS:
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and a[i] in _DIGITS:
            return 1
        if j < lb and b[j] in _DIGITS:
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_epoch(s: str, text: str, kind: str) -> tuple[int, str]:
    """``[epoch:]rest`` of a Debian or RPM version -> (epoch, rest); the epoch must be digits."""
    if ":" not in s:
        return 0, s
    ep, rest = s.split(":", 1)
    if not ep.isdigit():
        raise VersionError(f"bad epoch in {kind} version {text!r}")
    return int(ep), rest


_DEB_UPSTREAM_OK = re.compile(r"^[0-9][A-Za-z0-9.+~:-]*$")
_DEB_REVISION_OK = re.compile(r"^[A-Za-z0-9.+~]+$")


@dataclass(frozen=True)
class DebVersion:
    epoch: int
    upstream: str
    revision: str

    @classmethod
    def parse(cls, text: str) -> DebVersion:
        s = text.strip() if isinstance(text, str) else ""
        if not s or any(ch.isspace() for ch in s):
            raise VersionError(f"not a Debian version: {text!r}")
        epoch, s = _split_epoch(s, text, "Debian")
        revision = ""
        if "-" in s:
            s, revision = s.rsplit("-", 1)
            if not _DEB_REVISION_OK.match(revision):
                raise VersionError(f"bad revision in Debian version {text!r}")
        if not s or not _DEB_UPSTREAM_OK.match(s):
            raise VersionError(f"bad upstream part in Debian version {text!r}")
        return cls(epoch, s, revision)

    def __str__(self) -> str:
        out = f"{self.epoch}:{self.upstream}" if self.epoch else self.upstream
        return f"{out}-{self.revision}" if self.revision else out


def deb_compare(a: str, b: str) -> int:
    """Compare two Debian versions like ``dpkg --compare-versions``: <0, 0 or >0."""
    va, vb = DebVersion.parse(a), DebVersion.parse(b)
    if va.epoch != vb.epoch:
        return -1 if va.epoch < vb.epoch else 1
    r = _verrevcmp(va.upstream, vb.upstream)
    if r:
        return -1 if r < 0 else 1
    r = _verrevcmp(va.revision, vb.revision)
    return -1 if r < 0 else (1 if r > 0 else 0)


deb_key = functools.cmp_to_key(deb_compare)


# ------------------------------------------------------------------------------------------------ RPM


def _isalnum(c: str) -> bool:
    return ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def rpmvercmp(a: str, b: str) -> int:
    """rpm's rpmvercmp() (rpm >= 4.15 semantics: ``~`` sorts before everything, ``^`` after the base)."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _isalnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _isalnum(b[j]) and b[j] not in "~^":
            j += 1
        if (i < la and a[i] == "~") or (j < lb and b[j] == "~"):
            if i >= la or a[i] != "~":
                return 1
            if j >= lb or b[j] != "~":
                return -1
            i += 1
            j += 1
            continue
        if (i < la and a[i] == "^") or (j < lb and b[j] == "^"):
            if i >= la:
                return -1
            if j >= lb:
                return 1
            if a[i] != "^":
                return 1
            if b[j] != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (i < la and j < lb):
            break
        si, sj = i, j
        if a[i] in _DIGITS:
            while i < la and a[i] in _DIGITS:
                i += 1
            while j < lb and b[j] in _DIGITS:
                j += 1
            isnum = True
        else:
            while i < la and (("a" <= a[i] <= "z") or ("A" <= a[i] <= "Z")):
                i += 1
            while j < lb and (("a" <= b[j] <= "z") or ("A" <= b[j] <= "Z")):
                j += 1
            isnum = False
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            return 1 if isnum else -1
        if isnum:
            seg_a = seg_a.lstrip("0")
            seg_b = seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= la and j >= lb:
        return 0
    return 1 if i < la else -1


@dataclass(frozen=True)
class RpmVersion:
    epoch: int
    version: str
    release: str

    @classmethod
    def parse(cls, text: str) -> RpmVersion:
        s = text.strip() if isinstance(text, str) else ""
        if not s or any(ch.isspace() for ch in s):
            raise VersionError(f"not an RPM version: {text!r}")
        epoch, s = _split_epoch(s, text, "RPM")
        release = ""
        if "-" in s:
            s, release = s.rsplit("-", 1)
        if not s:
            raise VersionError(f"empty version in RPM version {text!r}")
        return cls(epoch, s, release)


def rpm_compare(a: str, b: str) -> int:
    """Compare two RPM [epoch:]version[-release] strings: -1, 0 or 1."""
    va, vb = RpmVersion.parse(a), RpmVersion.parse(b)
    if va.epoch != vb.epoch:
        return -1 if va.epoch < vb.epoch else 1
    r = rpmvercmp(va.version, vb.version)
    if r:
        return r
    if va.release and vb.release:  # rpm ignores the release when one side has none
        return rpmvercmp(va.release, vb.release)
    return 0


rpm_key = functools.cmp_to_key(rpm_compare)


# ------------------------------------------------------------------------------- upstream versions

# pre-release tags, lowest first (the relative order of alpha < beta < canary < next < rc is semver's and
# Retire.js's: identifiers compare as text); -pN patches rank 1, a release 0
_PRERELEASE = {"dev": -7, "alpha": -6, "a": -6, "beta": -5, "b": -5, "pre": -5, "canary": -4, "next": -3, "rc": -1}
# numbers; a patch letter (1.1.1w); a tag with its number: -p3, RC1, b1 (1.9.0b1), and the semver forms -rc.1,
# -beta, .beta.3, -next.0, -canary.13; further dot/dash numbers of a pre-release (1.0.0-rc.1.1)
_UPSTREAM_RE = re.compile(r"(\d+(?:\.\d+)*)(?:([a-z])(?![a-z0-9]))?"
                          r"(?:[-.]?(p|rc|beta|alpha|pre|dev|next|canary|[ab](?=\d))(?![a-z])[-.]?(\d+)?((?:[-.]\d+)*))?",
                          re.I)
_JAVA8_RE = re.compile(r"^(?:1\.)?(\d)u(\d+)")
_JAVA_LEGACY_RE = re.compile(r"^1\.([5-8])\.0[._](\d+)")

VersionKey = tuple[tuple[int, ...], int, str, int, tuple[int, ...]]


def upstream_key(version: str) -> VersionKey:
    """An ordering key for an upstream version such as ``7.4.33``, ``1.1.1w``, ``2.4.7-p3``, ``8u422``.

    Trailing ``.0`` parts are ignored (3.0 == 3.0.0); a letter suffix sorts after the bare version
    (1.1.1w > 1.1.1); ``-pN`` patches sort after the base; pre-releases sort before it (8.4.0RC1, 3.0.0-rc.1,
    4.0.0-beta < 4.0.0-beta.2 < 4.0.0; 1.0.0-rc.1 < 1.0.0-rc.1.1 < 1.0.0-rc.2), as semver and Retire.js order them.
    """
    s = version.strip()
    m8 = _JAVA8_RE.match(s)
    if m8:
        s = f"{m8.group(1)}.0.{m8.group(2)}"
    m = _UPSTREAM_RE.match(s)
    if not m:
        raise VersionError(f"no version number in {version!r}")
    nums = [int(x) for x in m.group(1).split(".")]
    while len(nums) > 1 and nums[-1] == 0:
        nums.pop()
    letter = (m.group(2) or "").lower()
    tag = (m.group(3) or "").lower()
    tagnum = int(m.group(4)) if m.group(4) else 0
    if tag == "p":
        rank = 1
    elif tag:
        rank = _PRERELEASE.get(tag, 0)
    else:
        rank = 0
    tail = [int(x) for x in re.split(r"[-.]", m.group(5))[1:]] if m.group(5) else []
    while tail and tail[-1] == 0:
        tail.pop()
    return (tuple(nums), rank, letter, tagnum, tuple(tail))


def upstream_parts(version: str) -> list[str]:
    """Numeric dot parts of an upstream version: ``2.4.7-p3`` -> ['2', '4', '7']."""
    m = _UPSTREAM_RE.match(version.strip())
    if not m:
        raise VersionError(f"no version number in {version!r}")
    return m.group(1).split(".")


def cycle_for_version(version: str, cycles: Container[str], max_depth: int | None = None) -> str | None:
    """Longest dotted prefix of ``version`` that is a cycle id (``3.7.1`` -> ``3`` for jQuery), or None.

    The one cycle matcher: the engine (``Engine.cycle_for``) and the catalog generator both use it.
    ``max_depth``: longest prefix worth trying (the product's deepest cycle id; None = every part).
    """
    try:
        parts = upstream_parts(version)
    except VersionError:
        return None
    top = len(parts) if max_depth is None else min(len(parts), max_depth)
    for n in range(top, 0, -1):
        cand = ".".join(parts[:n])
        if cand in cycles:
            return cand
    return None


# ------------------------------------------------------------------------- versions as tools print them

# Product-specific banners and tool outputs: (products the pattern is about, regex; group 1 = the version).
# With a product, only its own patterns and the generic ones apply (``Server: nginx/1.24.0 PHP/8.2.20`` gives PHP
# 8.2.20 for php, nginx 1.24.0 for nginx); without one, every pattern is tried in order.
_MARIADB = frozenset({"mariadb", "mysql"})
_VENDOR_PATTERNS: list[tuple[frozenset[str] | None, re.Pattern[str]]] = [
    (_MARIADB, re.compile(r"(?:^|[^\d.])(?:5\.5\.5-)?(\d+\.\d+\.\d+)-MariaDB", re.I)),
    (_MARIADB, re.compile(r"^(?:5\.5\.5-)?(\d+\.\d+\.\d+)-MariaDB", re.I)),
    (frozenset({"redis", "valkey"}), re.compile(r"(?:redis|valkey)_version:(\d+\.\d+\.\d+)")),
    (frozenset({"redis", "valkey"}), re.compile(r"(?:Redis|Valkey) server v=(\d+\.\d+\.\d+)")),
    (frozenset({"nginx"}), re.compile(r"\bnginx/(\d+\.\d+(?:\.\d+)?)")),
    (frozenset({"apache-http-server"}), re.compile(r"\bApache/(\d+\.\d+(?:\.\d+)?)")),
    (frozenset({"php"}), re.compile(r"\bPHP[ /](\d+\.\d+(?:\.\d+)?)")),
    (frozenset({"openssl"}), re.compile(r"\bOpenSSL (\d+\.\d+\.\d+[a-z]?)")),
    (frozenset({"postgresql"}), re.compile(r"\(PostgreSQL\) (\d+(?:\.\d+)?)")),
    (frozenset({"postgresql"}), re.compile(r"\bPostgreSQL (\d+(?:\.\d+)?)")),
    (frozenset({"python"}), re.compile(r"\bPython (\d+\.\d+(?:\.\d+)?)")),
    (None, re.compile(r"(?:openjdk|java) version \"([^\"]+)\"")),
    (_MARIADB, re.compile(r"\bDistrib (\d+\.\d+\.\d+)")),
    (None, re.compile(r"\bVer (\d+\.\d+\.\d+)")),
    (frozenset({"jquery"}), re.compile(r"\bjQuery(?: JavaScript Library)? v(\d+\.\d+\.\d+)")),
    (frozenset({"tomcat"}), re.compile(r"\bApache Tomcat/(\d+\.\d+\.\d+)")),
    (frozenset({"ruby"}), re.compile(r"\bruby (\d+\.\d+\.\d+)")),
    (frozenset({"go"}), re.compile(r"\bgo(\d+\.\d+(?:\.\d+)?)\b")),
    (frozenset({"wordpress"}), re.compile(r"\bWordPress (\d+\.\d+(?:\.\d+)?)")),
    (None, re.compile(r"^v(\d+\.\d+\.\d+)$")),
]
_PACKAGE_VERSION_RE = re.compile(r"^(?:\d+:)?\d[A-Za-z0-9.+~_]*(?:-[A-Za-z0-9.+~_]+)*$")
# rpm -q output: name-[epoch:]version-release.arch (php-fpm-8.0.30-1.el9_2.x86_64)
_RPM_NEVRA_RE = re.compile(r"^[A-Za-z][\w.+]*(?:-[A-Za-z][\w.+]*)*-(?:\d+:)?(\d[\w.+~^]*)-(\d[\w.+~^]*?)"
                           r"\.(?:x86_64|noarch|aarch64|i[3-6]86|ppc64le|s390x|src)$")
# a version standing alone in a longer text: not glued to a word or a dotted name ("php7.4" is a name)
_ANY_VERSION_RE = re.compile(r"(?<![\w.])[vV]?(\d+\.\d+(?:\.\d+)*[a-z]?)(?![\w])")
_ANY_VERSION_PATCH_RE = re.compile(r"(?<![\w.])[vV]?(\d+\.\d+(?:\.\d+)*(?:-p\d+)?)(?![\w])")
_SINGLE_NUMBER_RE = re.compile(r"(?<![\w.:/-])[vV]?(\d{1,4})(?![\w.:/-])")


def _strip_package_version(s: str) -> str:
    s = re.sub(r"^\d+:", "", s)
    if "-" in s:
        head, tail = s.rsplit("-", 1)
        # a distro revision starts with a digit (0+deb11u1, 1~deb11u1, 2ubuntu0.1, 62.module+el8..., 1.el9)
        if tail[:1].isdigit() and head:
            s = head
    # Debian repack / backport markers are not part of the upstream version
    for sep in ("+", "~"):
        if sep in s:
            s = s.split(sep, 1)[0]
    return s


def _search_patterns(s: str, product: str | None) -> str | None:
    for prods, pat in _VENDOR_PATTERNS:
        if product is not None and prods is not None and product not in prods:
            continue
        m = pat.search(s)
        if m:
            return m.group(1)
    return None


def extract_version(raw: object, product: str | None = None) -> str:
    """The upstream version in a package version, banner or tool output, exactly as tools print them.

    ``1:10.5.29-0+deb11u1`` -> ``10.5.29``; ``7.4.33-1+deb11u5`` -> ``7.4.33``;
    ``10.5.29-MariaDB-0+deb11u1`` -> ``10.5.29``; ``Apache/2.4.62 (Debian)`` -> ``2.4.62``;
    ``OpenSSL 3.0.15 3 Sep 2024`` -> ``3.0.15``; ``1.8.0_422`` (Java) -> ``8.0.422``;
    ``php-fpm-8.0.30-1.el9_2.x86_64`` (rpm -q) -> ``8.0.30``; ``Bootstrap v3.3.7`` -> ``3.3.7``;
    ``Debian GNU/Linux 12 (bookworm)`` -> ``12``. ``product`` (a catalog id) selects its own banner patterns.
    Raises VersionError when there is no version in the text.
    """
    if raw is None or isinstance(raw, bool):
        raise VersionError("no version given")
    if isinstance(raw, int | float):
        raw = str(raw)
    if not isinstance(raw, str):
        raise VersionError(f"version must be a string, not {type(raw).__name__}")
    s = raw.strip()
    if not s:
        raise VersionError("empty version")
    if len(s) > 4096:
        s = s[:4096]
    out = _search_patterns(s, product)
    if out is None and _PACKAGE_VERSION_RE.match(s):
        out = _strip_package_version(s)
    if out is None:
        m = _RPM_NEVRA_RE.match(s)
        if m:
            out = m.group(1)
    if out is None:
        m = _ANY_VERSION_PATCH_RE.search(s) if "-p" in s else None
        m = m or _ANY_VERSION_RE.search(s)
        if m:
            out = m.group(1)
    if out is None:
        # one number (PRETTY_NAME "Debian GNU/Linux 12 (bookworm)", "Amazon Linux 2", "PostgreSQL 16")
        m = _SINGLE_NUMBER_RE.search(s)
        if m:
            out = m.group(1)
    if out is None:
        raise VersionError(f"no version number in {raw!r}")
    if product in JAVA_PRODUCTS:
        out = normalise_java(out)
    out = _strip_package_version(out) if ("-" in out and not re.search(r"-p\d+$", out)) else out
    m = _UPSTREAM_RE.match(out)
    if not m or m.start() != 0:
        raise VersionError(f"no version number in {raw!r}")
    return m.group(0)


JAVA_PRODUCTS = frozenset({"eclipse-temurin", "java", "openjdk", "oracle-jdk", "red-hat-build-of-openjdk",
                           "openjdk-builds-from-oracle", "amazon-corretto", "azul-zulu", "microsoft-build-of-openjdk"})


def normalise_java(v: str) -> str:
    """``1.8.0_422`` / ``8u422-b05`` -> ``8.0.422``; ``17.0.12+7`` -> ``17.0.12``."""
    m = _JAVA_LEGACY_RE.match(v)
    if m:
        return f"{m.group(1)}.0.{m.group(2)}"
    m = _JAVA8_RE.match(v)
    if m:
        return f"{m.group(1)}.0.{m.group(2)}"
    return v


# ------------------------------------------------------------------------- one comparison for the controller


@functools.lru_cache(maxsize=65536)
def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in upstream_parts(extract_version(version)))
    except VersionError:
        return ()


def version_tuple(version: object) -> tuple[int, ...]:
    """The numeric dotted parts of the upstream version in ``version`` (a cycle, a version, a package version or a
    banner); ``()`` when there is none. ``"8.4.1"`` -> (8, 4, 1); ``"1:10.5.29-0+deb11u1"`` -> (10, 5, 29).

    For prefix tests ("is 8.2.29 in cycle 8.2") and sorting where letters do not matter; use :func:`sort_key` to
    order versions fully (1.1.1w > 1.1.1v, 8.4.0RC1 < 8.4.0).
    """
    if version is None or version == "" or isinstance(version, bool):
        return ()
    if isinstance(version, int | float):
        version = str(version)
    return _version_tuple(version) if isinstance(version, str) else ()


_NO_VERSION: VersionKey = ((), -99, "", 0, ())


def sort_key(version: object) -> VersionKey:
    """A total ordering key for any version text (unparsable and empty sort first)."""
    if version is None or version == "":
        return _NO_VERSION
    try:
        return upstream_key(extract_version(version))
    except VersionError:
        return _NO_VERSION


def compare(a: object, b: object, scheme: str = "upstream") -> int:
    """Compare two versions: -1, 0 or 1. ``scheme``: ``upstream`` (the upstream versions found in the texts),
    ``deb`` (dpkg ordering of whole package versions), ``rpm`` (rpm ordering of [epoch:]version-release)."""
    if scheme == "deb":
        return deb_compare(str(a), str(b))
    if scheme == "rpm":
        return rpm_compare(str(a), str(b))
    if scheme != "upstream":
        raise ValueError(f"unknown version scheme {scheme!r}")
    ka, kb = sort_key(a), sort_key(b)
    return -1 if ka < kb else (1 if ka > kb else 0)


def compare_at_depth(version: tuple[int, ...], bound: tuple[int, ...], depth: int | None = None) -> int:
    """Compare numeric version tuples, ``version`` cut to ``depth`` parts when given (8.4.27 vs 8.4 at depth 2 is
    equal); missing parts count as 0 (8.4 == 8.4.0). -1, 0 or 1."""
    v = version[:depth] if depth is not None else version
    n = max(len(v), len(bound))
    va, vb = v + (0,) * (n - len(v)), bound + (0,) * (n - len(bound))
    return -1 if va < vb else (1 if va > vb else 0)


def looks_distro_packaged(raw: str) -> bool:
    """True when a raw version carries a package revision (``-1+deb11u5``, ``-0ubuntu0.22.04.1``, ``.el8``, ``-1``).

    Only says the string looks like a package version; whose package it is decides :func:`distro_release_marks`.
    """
    return bool(_DISTRO_REV_RE.search(raw))


_DISTRO_REV_RE = re.compile(r"-\d[A-Za-z0-9.+~]*$|\+deb\d+u\d+|~deb\d+|ubuntu\d|\.el\d+|\+el\d+|~bpo\d+")


# ------------------------------------------------------------------------- whose package is it (version marks)


@dataclass(frozen=True)
class PackageMark:
    """What a package version says about the archive it was built for.

    ``kind``: ``debian`` | ``ubuntu`` | ``el`` (RHEL and its rebuilds) | ``amzn`` | ``vendor`` (a third-party
    repository or build; ``vendor`` names it). ``release``: the distro release the revision names (``12``,
    ``22.04``, ``9``), None when it names none (``1ubuntu4.12``).
    """

    kind: str
    release: str | None = None
    vendor: str | None = None


# third-party builds first: their revisions often name the distro too (sury: +0~20240607.36+debian12~1.gbp)
_VENDOR_MARKS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"deb\.sury\.org|\+0~\d{8}|~sury"), "sury"),
    (re.compile(r"nodesource"), "nodesource"),
    (re.compile(r"pgdg"), "pgdg"),
    (re.compile(r"\+maria~"), "mariadb.org"),
    (re.compile(r"\.remi\b|remi$"), "remi"),
    (re.compile(r"\.cp\d+|cpanel", re.I), "cpanel"),
    (re.compile(r"plesk", re.I), "plesk"),
    (re.compile(r"\.cloudlinux|\.cl\d+\b|\.lve\b"), "cloudlinux"),
    (re.compile(r"\.ngx$|\.ngx\."), "nginx.org"),
    (re.compile(r"-\d+debian\d+$|-\d+ubuntu\d\d\.\d\d$"), "mysql.com"),
    (re.compile(r"~(?:debian|ubuntu)\.\d"), "docker"),
    (re.compile(r"-\d+~(?:buster|bullseye|bookworm|trixie|focal|jammy|noble)$"), "nginx.org"),
    (re.compile(r"~bpo\d+"), "debian-backports"),
    (re.compile(r"\.epel|\.fc\d+"), "fedora-epel"),
]
_DEB_RELEASE_MARK = re.compile(r"[+~]deb(\d+)(?:u\d+)?(?![a-z])")
_UBUNTU_RELEASE_MARK = re.compile(r"ubuntu\d*[.~]?(?:0\.)?(\d\d\.\d\d)|~(\d\d\.\d\d)(?:\.\d+)?$")
_UBUNTU_MARK = re.compile(r"ubuntu\d")
_EL_MARK = re.compile(r"module\+el(\d+)|\.el(\d+)(?=[._+]|$)")
_AMZN_MARK = re.compile(r"\.amzn(\d+)")


def package_marks(raw: object) -> PackageMark | None:
    """The archive a package version was built for, read from its revision; None when it says nothing
    (no revision, or a bare ``-N`` revision such as a self-built or vendor package has).

    ``7.4.33-1+deb11u5`` -> debian 11; ``2.4.62-1~deb12u2`` -> debian 12; ``8.0.39-0ubuntu0.22.04.1`` -> ubuntu
    22.04; ``2.4.52-1ubuntu4.12`` -> ubuntu (release not named); ``8.0.30-1.module+el8.6.0+16523+f4d1a0d3`` -> el 8;
    ``10.5.27-1.el9_5`` -> el 9; ``2.4.62-1.amzn2023.0.1`` -> amzn 2023; ``8.2.20-1+0~20240607.36+debian12~1.gbp``
    -> vendor sury; ``7.4.33-1`` -> None.
    """
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    if not s or len(s) > 512:
        return None
    if any(ch.isspace() for ch in s):
        # a banner quoting the package version: "psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)"
        for token in re.split(r"[\s(),;\[\]]+", s):
            if token[:1].isdigit() and "-" in token:
                mark = package_marks(token)
                if mark is not None:
                    return mark
        return None
    m = _RPM_NEVRA_RE.match(s)
    if m:  # rpm -q output: judge version-release only, never the package name (mariadb11.8-server-...)
        s = f"{m.group(1)}-{m.group(2)}"
    for rx, vendor in _VENDOR_MARKS:
        if rx.search(s):
            return PackageMark("vendor", None, vendor)
    m = _DEB_RELEASE_MARK.search(s)
    if m:
        return PackageMark("debian", m.group(1))
    m = _UBUNTU_RELEASE_MARK.search(s)
    if m and "ubuntu" in s:
        return PackageMark("ubuntu", m.group(1) or m.group(2))
    if _UBUNTU_MARK.search(s):
        return PackageMark("ubuntu", None)
    m = _AMZN_MARK.search(s)
    if m:
        return PackageMark("amzn", m.group(1))
    m = _EL_MARK.search(s)
    if m:
        return PackageMark("el", m.group(1) or m.group(2))
    return None
