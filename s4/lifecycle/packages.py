"""Map distro package names to catalog products (dpkg and rpm naming), for evaluating whole package lists.

Only the package that carries the product's version is mapped (``php7.4-fpm``, ``mariadb-server-10.5``,
``postgresql-13``, ``nginx-core``...); libraries and plugins of a product are not (``php7.4-mysql`` would only
repeat the same verdict). Results are memoised per name, so a fleet of hosts costs one regex pass per
distinct package name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

# (regex over the package name, product id). First match wins.
PACKAGE_RULES: list[tuple[str, str]] = [
    (r"php\d+(?:\.\d+)?-(?:fpm|cli|cgi)|libapache2-mod-php\d+(?:\.\d+)?|php-(?:fpm|cli)|php\d\d-php-(?:fpm|cli)"
     r"|ea-php\d+-php-(?:fpm|cli)|alt-php\d+(?:-cli)?", "php"),
    (r"mariadb-server(?:-\d+(?:\.\d+)?)?|mariadb-server-core(?:-\d+(?:\.\d+)?)?|MariaDB-server", "mariadb"),
    (r"mysql-server(?:-\d+(?:\.\d+)?)?|mysql-community-server|mysql-server-core-\d+\.\d+", "mysql"),
    (r"postgresql-\d+(?:\.\d+)?|postgresql\d*-server|postgresql\d+-server", "postgresql"),
    (r"nginx|nginx-(?:core|full|light|extras)", "nginx"),
    (r"apache2|apache2-bin|httpd", "apache-http-server"),
    (r"python\d\.\d+(?:-minimal)?|python3|python2|python3\d+|python\d\.\d+-libs", "python"),
    (r"nodejs|nodejs\d+", "nodejs"),
    (r"openjdk-\d+-jre-headless|openjdk-\d+-jdk-headless|java-\d+(?:\.\d+\.\d+)?-openjdk(?:-headless)?"
     r"|temurin-\d+-jdk|temurin-\d+-jre", "eclipse-temurin"),
    (r"redis-server|redis", "redis"),
    (r"valkey-server|valkey", "valkey"),
    (r"memcached", "memcached"),
    (r"tomcat\d*", "tomcat"),
    (r"openssl|openssl-libs|openssl3", "openssl"),
    (r"wordpress", "wordpress"),
    (r"libjs-jquery", "jquery"),
    (r"libjs-jquery-ui", "jquery-ui"),
    (r"roundcube-core|roundcube", "roundcube"),
    (r"phpmyadmin", "phpmyadmin"),
    (r"exim4-daemon-(?:light|heavy)|exim", "exim"),
    (r"postfix", "postfix"),
    (r"dovecot-core|dovecot", "dovecot"),
    (r"proftpd-basic|proftpd-core|proftpd", "proftpd"),
    (r"haproxy", "haproxy"),
    (r"varnish", "vinyl-cache"),
    (r"squid", "squid"),
    (r"clamav|clamav-daemon", "clamav"),
    (r"ruby\d\.\d+|ruby", "ruby"),
    (r"perl|perl-base", "perl"),
    (r"linux-image-\d+\.\d+\.\d+-\d+-(?:amd64|arm64|cloud-amd64)|kernel|kernel-core", "linux-kernel"),
    (r"composer", "composer"),
    (r"mediawiki", "mediawiki"),
    (r"python3-django", "django"),
    (r"mongodb-org-server|mongodb-server", "mongodb"),
    (r"elasticsearch", "elasticsearch"),
    (r"opensearch", "opensearch"),
    (r"rabbitmq-server", "rabbitmq"),
    (r"sqlite3", "sqlite"),
    (r"psa|plesk-core", "plesk"),
]
_RULES = [(re.compile(rf"^(?:{rx})$"), prod) for rx, prod in PACKAGE_RULES]
_name_cache: dict[str, str | None] = {}


def product_for_package(name: str) -> str | None:
    """The catalog product a package name stands for, or None for the thousands of other packages."""
    hit = _name_cache.get(name, "")
    if hit != "":
        return hit
    prod = None
    for rx, p in _RULES:
        if rx.match(name):
            prod = p
            break
    _name_cache[name] = prod
    return prod


def evaluate_packages(engine: Any, packages: Iterable[Any], distro: str | None, as_of: date,
                      **kw: Any) -> list[dict[str, Any]]:
    """Verdicts for the products among a host's packages.

    ``packages``: (name, version) pairs or CONTRACTS §1 package dicts. Returns one entry per distinct
    (product, version) with the package names that carry it: {"verdict": Verdict, "packages": [...]}.
    """
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    get = _name_cache.get
    for pkg in packages:
        if type(pkg) is tuple:  # fast path: (name, version)
            name, version = pkg
        elif isinstance(pkg, Mapping):
            name, version = pkg.get("name"), pkg.get("version")
        else:
            name, version = pkg
        prod = get(name, "")
        if prod is None:
            continue
        if prod == "":
            prod = product_for_package(name)
            if prod is None:
                continue
        key = (prod, version)
        entry = seen.get(key)
        if entry is None:
            entry = seen[key] = {"verdict": engine.evaluate(prod, version, distro, as_of, packaged=True, **kw),
                                 "packages": [name]}
        else:
            entry["packages"].append(name)
    return list(seen.values())
