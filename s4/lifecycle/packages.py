"""Map distro package names to catalog products (dpkg and rpm naming), for evaluating whole package lists.

Only the package that carries the product's version is mapped (``php7.4-fpm``, ``mariadb-server-10.5``,
``postgresql-13``, ``nginx-core``...); libraries and plugins of a product are not (``php7.4-mysql`` would only
repeat the same verdict). Results are memoised per name, so a fleet of hosts costs one regex pass per
distinct package name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

# (regex over the package name, product id, vendor). First match wins. A named group ``c`` captures the cycle the
# name carries (php7.4-fpm, ea-php81, python3.11, postgresql-13, openjdk-17-jre-headless). ``vendor``: the
# package's builder when the name alone says it is not a distro archive's (cPanel, CloudLinux alt-php, Plesk, Remi,
# upstream repositories); such a package never gets distro support credited.
PACKAGE_RULES: list[tuple[str, str, str | None]] = [
    # PHP: Debian/Ubuntu/Sury (php7.4-fpm, libapache2-mod-php8.2), RPM (php-fpm), Alpine (php82-fpm)
    (r"php(?P<c>\d+\.\d+)-(?:fpm|cli|cgi|common|phpdbg)|libapache2-mod-php(?P<c2>\d+\.\d+)?"
     r"|php-(?:fpm|cli|cgi|common)|php", "php", None),
    (r"php(?P<c>\d\d)-php(?:-(?:fpm|cli|common))?", "php", "remi"),                     # Remi SCL: php81-php-fpm
    (r"ea-php(?P<c>\d\d)(?:-php-(?:fpm|cli|common))?", "ea-php", "cpanel"),            # cPanel EasyApache
    (r"alt-php(?P<c>\d\d)(?:-(?:cli|fpm|common))?", "alt-php", "cloudlinux-alt-php"),  # CloudLinux alt-php
    (r"plesk-php(?P<c>\d\d)(?:-(?:fpm|cli|common))?", "plesk-php", "plesk"),           # Plesk PHP
    (r"php(?P<c>\d\d)(?:-(?:fpm|cgi|apache2|cli))?", "php", None),                      # Alpine php82
    (r"mariadb-server(?:-core)?(?:-(?P<c>\d+\.\d+))?|mariadb|mariadb(?P<c2>\d+\.\d+)-server", "mariadb", None),
    (r"MariaDB-server", "mariadb", "mariadb.org"),
    (r"mysql-server(?:-core)?(?:-(?P<c>\d+\.\d+))?", "mysql", None),
    (r"mysql-community-server(?:-core)?", "mysql", "mysql.com"),
    (r"percona-server-server(?:-(?P<c>\d+\.\d+))?", "mysql", "percona"),
    (r"postgresql-(?P<c>\d+(?:\.\d+)?)|postgresql(?P<c2>\d+)?-server|postgresql(?P<c3>\d+)", "postgresql", None),
    (r"nginx(?:-(?:core|full|light|extras|mainline))?", "nginx", None),
    (r"apache2(?:-bin)?|httpd(?:-core)?", "apache-http-server", None),
    (r"ea-apache24", "apache-http-server", "cpanel"),
    (r"python(?P<c>\d\.\d+)(?:-minimal|-libs)?|python3(?P<c2>\d\d)|python[23]|python3-libs", "python", None),
    (r"nodejs(?P<c>\d+)?", "nodejs", None),
    (r"openjdk-(?P<c>\d+)-(?:jre|jdk)(?:-headless)?|openjdk(?P<c2>\d+)-(?:jre|jdk)(?:-headless)?",
     "eclipse-temurin", None),
    (r"java-(?P<c>\d+|1\.8\.0)-openjdk(?:-headless|-devel)?", "red-hat-build-of-openjdk", None),
    (r"temurin-(?P<c>\d+)-(?:jdk|jre)", "eclipse-temurin", "adoptium"),
    (r"redis-server|redis", "redis", None),
    (r"valkey-server|valkey", "valkey", None),
    (r"memcached", "memcached", None),
    (r"tomcat(?P<c>\d+)?", "tomcat", None),
    (r"openssl|openssl-libs|openssl3|libssl(?P<c>3|1\.1|1\.0\.2)(?:t64)?", "openssl", None),
    (r"wordpress", "wordpress", None),
    (r"libjs-jquery", "jquery", None),
    (r"libjs-jquery-ui", "jquery-ui", None),
    (r"libjs-bootstrap(?P<c>\d)?|twitter-bootstrap(?P<c2>\d)?", "bootstrap", None),
    (r"libjs-angularjs", "angularjs", None),
    (r"roundcube-core|roundcube", "roundcube", None),
    (r"phpmyadmin", "phpmyadmin", None),
    (r"exim4-daemon-(?:light|heavy)|exim4?", "exim", None),
    (r"postfix", "postfix", None),
    (r"dovecot-core|dovecot", "dovecot", None),
    (r"proftpd-basic|proftpd-core|proftpd", "proftpd", None),
    (r"haproxy", "haproxy", None),
    (r"varnish", "vinyl-cache", None),
    (r"squid", "squid", None),
    (r"clamav|clamav-daemon|clamd", "clamav", None),
    (r"ruby(?P<c>\d\.\d+)|libruby(?P<c2>\d\.\d+)|ruby", "ruby", None),
    (r"perl|perl-base", "perl", None),
    (r"linux-image-\d+\.\d+\.\d+-\d+-(?:amd64|arm64|cloud-amd64)|kernel|kernel-core", "linux-kernel", None),
    (r"composer", "composer", None),
    (r"mediawiki", "mediawiki", None),
    (r"python3-django", "django", None),
    (r"mongodb-org-server|mongodb-server", "mongodb", None),
    (r"elasticsearch", "elasticsearch", None),
    (r"opensearch", "opensearch", None),
    (r"rabbitmq-server", "rabbitmq", None),
    (r"sqlite3?", "sqlite", None),
    (r"psa|plesk-core", "plesk", "plesk"),
]
_RULES = [(re.compile(rf"^(?:{rx})$"), prod, vendor) for rx, prod, vendor in PACKAGE_RULES]
_name_cache: dict[str, str | None] = {}
_match_cache: dict[str, PackageMatch | None] = {}


@dataclass(frozen=True)
class PackageMatch:
    """What a package name says: the catalog product, the cycle in the name (or None), the vendor (or None)."""

    product: str
    cycle: str | None
    vendor: str | None


# products a panel or vendor build maps to when the catalog has no product of its own for it
FALLBACK_PRODUCTS = {"ea-php": "php", "alt-php": "php", "plesk-php": "php"}


def _cycle_of(product: str, digits: str | None) -> str | None:
    if not digits:
        return None
    if "." not in digits and product in ("php", "python", *FALLBACK_PRODUCTS) and len(digits) >= 2:
        return f"{digits[0]}.{digits[1:]}"          # ea-php81 -> 8.1, python311 -> 3.11
    if product in ("eclipse-temurin", "red-hat-build-of-openjdk") and digits == "1.8.0":
        return "8"
    return digits


def match_package(name: object) -> PackageMatch | None:
    """The product a package name stands for (``php7.4-fpm`` -> php 7.4; ``ea-php81`` -> php 8.1 by cPanel), or
    None for the thousands of other packages. Only the package that carries the product's version is mapped
    (``php7.4-mysql`` is not: it would only repeat the same verdict)."""
    if not isinstance(name, str) or not name or len(name) > 200:
        return None
    hit = _match_cache.get(name, False)
    if hit is not False:
        return hit  # type: ignore[return-value]
    out = None
    for rx, prod, vendor in _RULES:
        m = rx.match(name)
        if m:
            digits = next((g for k, g in m.groupdict().items() if g and k.startswith("c")), None)
            out = PackageMatch(prod, _cycle_of(prod, digits), vendor)
            break
    if len(_match_cache) < 100_000:
        _match_cache[name] = out
    return out


def product_for_package(name: str) -> str | None:
    """The catalog product a package name stands for, or None for the thousands of other packages."""
    hit = _name_cache.get(name, "")
    if hit != "":
        return hit
    m = match_package(name)
    prod = m.product if m is not None else None
    if len(_name_cache) < 100_000:
        _name_cache[name] = prod
    return prod


def evaluate_packages(engine: Any, packages: Iterable[Any], distro: str | None, as_of: date,
                      **kw: Any) -> list[dict[str, Any]]:
    """Verdicts for the products among a host's packages.

    ``packages``: (name, version) pairs or CONTRACTS §1 package dicts (their ``origin`` is the evidence of which
    archive the package came from). Distro support is credited only on evidence (engine rule): the origin, a
    vendor named by the package name (``ea-php81``: cPanel, never the distro), or the distro's release mark in the
    version. Returns one entry per distinct (product, version, origin) with the package names that carry it:
    {"verdict": Verdict, "packages": [...]}.
    """
    seen: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    get = _match_cache.get
    for pkg in packages:
        origin = None
        if type(pkg) is tuple:  # fast path: (name, version)
            name, version = pkg
        elif isinstance(pkg, Mapping):
            name, version, origin = pkg.get("name"), pkg.get("version"), pkg.get("origin")
        else:
            name, version = pkg
        m = get(name, False)
        if m is False:
            m = match_package(name)
        if m is None:
            continue
        origin = m.vendor or (str(origin) if origin else None)  # type: ignore[union-attr]
        key = (m.product, version, origin)  # type: ignore[union-attr]
        entry = seen.get(key)
        if entry is None:
            entry = seen[key] = {"verdict": engine.evaluate(m.product, version, distro, as_of,  # type: ignore[union-attr]
                                                            origin=origin, **kw),
                                 "packages": [name]}
        else:
            entry["packages"].append(name)
    return list(seen.values())
