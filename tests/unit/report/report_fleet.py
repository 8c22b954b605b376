"""A small fleet for the report tests: a CMDB (through s4.cmdb, as the inventory plugin sees it), facts shaped as
docs/CONTRACTS.md §1, and a fake lifecycle engine that follows the §2 API with a tiny date table."""

from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

from s4 import cmdb as cmdb_mod

CMDB_YAML = """
plugin: smartt.s4.cmdb
cmdb:
  version: 1
  domain: smartt.example
  clients:
    acme: {name: Acme Ltd, contacts: [ops@acme.example]}
    globex: {name: Globex Corp, contacts: []}
    initech: {name: Initech, contacts: [it@initech.example]}
  hosts:
    mvps-acme-01:
      service: mvps
      address: 10.89.40.11
      os: debian-11
      clients: [acme]
      public: true
      sites:
        - {name: acme-blog, client: acme, domain: blog.acme.example, docroot: /srv/www/acme-blog, app: wordpress,
           db: {engine: mariadb, name: acme_wp, server: mvps-acme-01}}
      licences:
        - {product: wp-premium-plugin, kind: licence, vendor: Example Vendor, client: acme, expires: 2027-02-28}
        - {product: backup-agent, kind: support, vendor: Backup Inc, expires: 2029-01-01}
    shared-01:
      service: shared_hosting
      address: 10.89.40.13
      os: debian-12
      clients: [acme, globex, initech]
      public: true
      sites:
        - {name: acme-shop, client: acme, domain: shop.acme.example, docroot: /srv/www/acme-shop,
           db: {engine: mariadb, name: acme_shop, server: db-01}}
        - {name: globex-site, client: globex, domain: www.globex.example, docroot: /srv/www/globex-site,
           db: {engine: postgresql, name: globex, server: db-01}}
        - {name: initech-site, client: initech, domain: www.initech.example, docroot: /srv/www/initech-site}
    db-01:
      service: shared_hosting
      address: 10.89.40.14
      os: debian-12
      clients: [acme, globex]
      public: false
      licences:
        - {product: db-support, kind: support, vendor: DB Corp, expires: 2026-10-01}
    internal-01:
      service: internal
      address: 10.89.40.15
      os: debian-13
      clients: []
      public: false
    mvps-initech-01:
      service: mvps
      address: 10.89.40.17
      os: debian-12
      clients: [initech]
      public: true
    colo-01:
      service: colocation
      address: 10.89.40.16
      os: debian-12
      clients: [globex]
"""

AS_OF = _dt.date(2026, 11, 27)


def _comp(product: str, version: str, kind: str, package: str | None = None, source: str = "dpkg",
          path: str | None = None, raw: str | None = None) -> dict[str, Any]:
    return {"product": product, "version": version, "raw_version": raw or version, "kind": kind, "source": source,
            "package": package, "path": path, "evidence": f"{source}: {package or path} {raw or version}",
            "details": {}}


def _os(version: str, codename: str) -> dict[str, Any]:
    major = version.split(".")[0]
    return {"id": "debian", "version": major, "version_full": version, "codename": codename, "kernel": "6.1.0",
            "pretty": f"Debian GNU/Linux {major} ({codename})"}


FACTS: dict[str, dict[str, Any]] = {
    "mvps-acme-01": {
        "schema": 1, "gathered_at": "2026-11-27T10:00:00Z", "host": "mvps-acme-01", "os": _os("11.11", "bullseye"),
        "distro": "debian-11",
        "packages": [{"name": "php7.4-fpm", "version": "7.4.33-1+deb11u5", "arch": "amd64", "source": "php7.4",
                      "manager": "dpkg", "origin": "debian"}],
        "components": [
            _comp("debian", "11.11", "os", "base-files", raw="11.11"),
            _comp("nginx", "1.18.0", "webserver", "nginx-core", raw="1.18.0-6.1+deb11u3", path="/usr/sbin/nginx"),
            _comp("php", "7.4.33", "runtime", "php7.4-fpm", raw="7.4.33-1+deb11u5", path="/usr/sbin/php-fpm7.4"),
            _comp("php", "7.4.33", "runtime", "php7.4-cli", raw="7.4.33-1+deb11u5", path="/usr/bin/php7.4"),
            _comp("mariadb", "10.5.26", "database", "mariadb-server-10.5", raw="1:10.5.26-0+deb11u2"),
        ],
        "services": [{"name": "php7.4-fpm.service", "active": "active", "sub": "running", "enabled": "enabled",
                      "product": "php"},
                     {"name": "nginx.service", "active": "active", "sub": "running", "enabled": "enabled",
                      "product": "nginx"}],
        "ports": [],
        "sites": [{"name": "acme-blog", "client": "acme", "domain": "blog.acme.example", "aliases": [],
                   "docroot": "/srv/www/acme-blog", "server": "nginx", "config": "/etc/nginx/sites-enabled/acme-blog",
                   "php": {"version": "7.4", "pool": "www", "socket": "/run/php/php7.4-fpm.sock"},
                   "apps": [{"product": "wordpress", "version": "5.7.11", "path": "/srv/www/acme-blog",
                             "evidence": "wp-includes/version.php"}],
                   "libraries": [{"product": "jquery", "version": "1.12.4",
                                  "path": "/srv/www/acme-blog/js/jquery.min.js", "evidence": "banner"}],
                   "walk": {"files": 120, "truncated": False, "skipped": []}}],
        "warnings": [],
    },
    "shared-01": {
        "schema": 1, "gathered_at": "2026-11-27T10:01:00Z", "host": "shared-01", "os": _os("12.12", "bookworm"),
        "distro": "debian-12", "packages": [],
        "components": [
            _comp("nginx", "1.22.1", "webserver", "nginx", raw="1.22.1-9+deb12u3"),
            _comp("php", "8.2.29", "runtime", "php8.2-fpm", raw="8.2.29-1~deb12u1"),
            _comp("nodejs", "16.20.2", "runtime", None, source="binary", path="/opt/node-v16/bin/node"),
            _comp("jquery", "3.5.1", "library", None, source="binary",
                  path="/srv/www/globex-site/vendor/jquery.js"),
        ],
        "services": [{"name": "php8.2-fpm.service", "active": "active", "sub": "running", "enabled": "enabled",
                      "product": "php"}],
        "ports": [],
        "sites": [
            {"name": "acme-shop", "client": "acme", "domain": "shop.acme.example", "aliases": [],
             "docroot": "/srv/www/acme-shop", "server": "nginx", "config": "x",
             "php": {"version": "8.2", "pool": "acme-shop", "socket": "/run/php/acme-shop.sock"},
             "apps": [{"product": "wordpress", "version": "6.2.6", "path": "/srv/www/acme-shop", "evidence": "v"}],
             "libraries": []},
            {"name": "globex-site", "client": "globex", "domain": "www.globex.example", "aliases": [],
             "docroot": "/srv/www/globex-site", "server": "nginx", "config": "x",
             "php": {"version": "8.2", "pool": "globex", "socket": "/run/php/globex.sock"},
             "apps": [{"product": "drupal", "version": "10.3.6", "path": "/srv/www/globex-site", "evidence": "v"}],
             "libraries": []},
            {"name": "initech-site", "client": "initech", "domain": "www.initech.example", "aliases": [],
             "docroot": "/srv/www/initech-site", "server": "nginx", "config": "x", "php": None, "apps": [],
             "libraries": []},
        ],
        "warnings": [],
    },
    "db-01": {
        "schema": 1, "gathered_at": "2026-11-27T10:02:00Z", "host": "db-01", "os": _os("12.12", "bookworm"),
        "distro": "debian-12", "packages": [],
        "components": [
            _comp("debian", "12.12", "os", "base-files"),
            _comp("mariadb", "10.11.14", "database", "mariadb-server", raw="1:10.11.14-0+deb12u2"),
            _comp("postgresql", "15.14", "database", "postgresql-15", raw="15.14-0+deb12u1"),
        ],
        "services": [], "ports": [], "sites": [], "warnings": [],
    },
    "internal-01": {
        "schema": 1, "gathered_at": "2026-11-27T10:03:00Z", "host": "internal-01", "os": _os("13.2", "trixie"),
        "distro": "debian-13",
        "packages": [{"name": "roundcube", "version": "1.6.11+dfsg-1", "arch": "all", "source": "roundcube",
                      "manager": "dpkg", "origin": "debian"}],
        "components": [
            _comp("debian", "13.2", "os", "base-files"),
            _comp("php", "8.4.11", "runtime", "php8.4-fpm", raw="8.4.11-1"),
            _comp("redis", "8.0.2", "cache", "redis-server", raw="5:8.0.2-3"),
        ],
        "services": [], "ports": [],
        "sites": [{"name": "webmail.smartt.example", "client": None, "domain": "webmail.smartt.example", "aliases": [],
                   "docroot": "/var/lib/roundcube/public_html", "server": "apache2", "config": "x",
                   "php": {"version": "8.4", "pool": "www", "socket": "/run/php/php8.4-fpm.sock"},
                   "apps": [{"product": "roundcube", "version": "1.6.11", "path": "/usr/share/roundcube",
                             "evidence": "program/include/iniset.php"}],
                   "libraries": []}],
        "warnings": [],
    },
}

# upstream support end per (product, cycle); None = no end date yet
UPSTREAM = {
    ("debian", "11"): "2024-08-14", ("debian", "12"): "2026-06-10", ("debian", "13"): "2028-08-09",
    ("nginx", "1.18"): "2021-04-20", ("nginx", "1.22"): "2023-05-24", ("php", "7.4"): "2022-11-28",
    ("php", "8.2"): "2026-12-31", ("php", "8.4"): "2028-12-31", ("mariadb", "10.5"): "2025-06-24",
    ("mariadb", "10.11"): "2028-02-16", ("postgresql", "15"): "2027-11-11", ("nodejs", "16"): "2023-09-11",
    ("redis", "8.0"): None, ("wordpress", "5.7"): "2022-12-01", ("wordpress", "6.2"): "2024-04-01",
    ("drupal", "10.3"): "2025-12-10", ("jquery", "1.12"): "2016-06-09", ("jquery", "3.5"): "2020-06-01",
    ("roundcube", "1.6"): "2027-06-01",
}
DISTRO_END = {"debian-11": "2026-08-31", "debian-12": "2028-06-30", "debian-13": "2030-06-30"}
RECOMMEND = {"php": ("8.4", "8.4.14"), "nginx": ("1.28", "1.28.0"), "mariadb": ("11.4", "11.4.8"),
             "postgresql": ("17", "17.6"), "debian": ("13", "13.2"), "wordpress": ("6.8", "6.8.3"),
             "drupal": ("11.2", "11.2.5"), "jquery": ("3.7", "3.7.1"), "nodejs": ("22", "22.20.0")}
LATEST = {("php", "7.4"): "7.4.33", ("php", "8.2"): "8.2.29", ("nginx", "1.18"): "1.18.0"}


class FakeRecommendation:
    def __init__(self, product: str, cycle: str, version: str) -> None:
        self.product, self.cycle, self.version, self.eol, self.reason = product, cycle, version, None, "newest supported"


class FakeVerdict:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for k in ("eol", "security_end", "support_end"):
            d[k] = d[k].isoformat() if d[k] else None
        rec = d["recommended"]
        d["recommended"] = None if rec is None else {"product": rec.product, "cycle": rec.cycle,
                                                     "version": rec.version, "eol": None, "reason": rec.reason}
        return d


class FakeEngine:
    """Follows the contract of s4.lifecycle.Engine.evaluate with a fixed table; records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, _dt.date]] = []

    def evaluate(self, product: str, version: str, *, distro: str | None = None,
                 as_of: _dt.date | None = None) -> FakeVerdict:
        as_of = as_of or AS_OF
        self.calls.append((product, version, distro, as_of))
        upstream = version.split(":")[-1].split("-")[0].split("+")[0].split("~")[0]
        parts = upstream.split(".")
        cycle = parts[0] if product in ("debian", "postgresql", "nodejs") else ".".join(parts[:2])
        key = (product, cycle)
        if key not in UPSTREAM:
            return FakeVerdict(product=product, cycle=cycle, version=upstream, status="unknown", source=None,
                               eol=None, security_end=None, support_end=None, days_left=None, latest_in_cycle=None,
                               releases_behind=None, reason=f"{product} {cycle} not in the catalog",
                               recommended=None, alternatives=[])
        end = _dt.date.fromisoformat(UPSTREAM[key]) if UPSTREAM[key] else None
        source = "upstream"
        if distro in DISTRO_END and product != "debian":
            dend = _dt.date.fromisoformat(DISTRO_END[distro])
            if end is not None and dend > end:
                end, source = dend, "distro"
        if product == "debian" and distro is not None:
            end, source = _dt.date.fromisoformat(DISTRO_END[f"debian-{cycle}"]), "distro"
        days = (end - as_of).days if end else None
        status = "supported" if days is None or days > 90 else "eol-soon" if days >= 0 else "eol"
        rec = RECOMMEND.get(product)
        recommended = FakeRecommendation(product, *rec) if rec and rec[0] != cycle else None
        latest = LATEST.get(key)
        return FakeVerdict(product=product, cycle=cycle, version=upstream, status=status, source=source, eol=end,
                           security_end=end, support_end=end, days_left=days, latest_in_cycle=latest,
                           releases_behind=0 if latest == upstream else None, reason=f"{source} support",
                           recommended=recommended, alternatives=[{"product": "valkey", "reason": "fork"}]
                           if product == "redis" else [])


def hostvars(with_facts: bool = True, only_in_scope: bool = True) -> list[dict[str, Any]]:
    """hostvars of the in-scope hosts as the playbook passes them (facts from FACTS)."""
    db = cmdb_mod.loads(CMDB_YAML)
    names = db.in_scope if only_in_scope else list(db.hosts)
    out = []
    for name in names:
        hv = db.hostvars(name)
        hv["inventory_hostname"] = name
        if with_facts and name in FACTS:
            hv["ansible_facts"] = {"s4_software": copy.deepcopy(FACTS[name])}
        out.append(hv)
    return out
