"""Test data for the release-watch tests: a small CMDB, gathered facts recorded in a real history DB (s4.history),
and a catalog directory whose release dates are relative to AS_OF."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

AS_OF = _dt.date(2026, 11, 27)

CMDB_YAML = """
plugin: smartt.s4.cmdb
cmdb:
  version: 1
  domain: smartt.example
  clients:
    acme: {name: Acme Ltd, contacts: [ops@acme.example]}
    globex: {name: Globex Corp, contacts: [it@globex.example, cto@globex.example]}
    hooli: {name: Hooli Apps, contacts: []}
    smartt: {name: Smartt internal, contacts: [noc@smartt.example]}
  hosts:
    mvps-acme-01:
      service: mvps
      address: 10.89.40.11
      os: debian-11
      clients: [acme]
      public: true
      sites:
        - {name: acme-blog, client: acme, domain: blog.acme.example, docroot: /srv/www/acme-blog, app: wordpress}
    shared-01:
      service: shared_hosting
      address: 10.89.40.13
      os: debian-12
      clients: [globex, hooli]
      public: true
      sites:
        - {name: globex-www, client: globex, domain: www.globex.example, docroot: /srv/www/globex-www}
        - {name: hooli-app, client: hooli, domain: app.hooli.example, docroot: /srv/www/hooli-app}
    internal-01:
      service: internal
      address: 10.89.40.15
      os: debian-13
      clients: [smartt]
    colo-01:
      service: colocation
      address: 10.89.40.16
      os: debian-12
      clients: [globex]
"""


def d(days: int) -> str:
    """The date ``days`` days before AS_OF (negative: after)."""
    return (AS_OF - _dt.timedelta(days=days)).isoformat()


def comp(product: str, version: str, kind: str, package: str | None = None) -> dict[str, Any]:
    return {"product": product, "version": version, "raw_version": version, "kind": kind,
            "source": "dpkg" if package else "binary", "package": package, "path": None,
            "evidence": f"test {product}", "details": {}}


def site(name: str, client: str, apps: list[tuple[str, str]] = (), libs: list[tuple[str, str]] = (),
         php: str | None = None) -> dict[str, Any]:
    return {"name": name, "client": client, "domain": f"{name}.example", "aliases": [],
            "docroot": f"/srv/www/{name}", "server": "nginx", "config": f"/etc/nginx/sites-enabled/{name}",
            "php": {"version": php, "pool": name, "socket": f"/run/php/{name}.sock"} if php else None,
            "apps": [{"product": p, "version": v, "path": f"/srv/www/{name}", "evidence": "t"} for p, v in apps],
            "libraries": [{"product": p, "version": v, "path": f"/srv/www/{name}/js/{p}.js", "evidence": "banner"}
                          for p, v in libs],
            "walk": {"files": 10, "truncated": False, "skipped": []}}


def facts(host: str, distro: str, components: list[dict[str, Any]], sites: list[dict[str, Any]]) -> dict[str, Any]:
    major = distro.split("-")[1]
    return {"schema": 1, "gathered_at": f"{AS_OF.isoformat()}T08:00:00Z", "host": host,
            "os": {"id": "debian", "version": major, "version_full": major, "codename": "x", "kernel": "6.1",
                   "pretty": f"Debian {major}"},
            "distro": distro, "packages": [], "components": components, "services": [], "ports": [],
            "sites": sites, "warnings": []}


FACTS = {
    "mvps-acme-01": facts("mvps-acme-01", "debian-11", [
        comp("nginx", "1.18.0", "webserver", "nginx"),
        comp("php", "7.4.33", "runtime", "php7.4-fpm"),
    ], [site("acme-blog", "acme", apps=[("wordpress", "5.7.11")], libs=[("jquery", "1.12.4")], php="7.4")]),
    "shared-01": facts("shared-01", "debian-12", [
        comp("php", "8.2.29", "runtime", "php8.2-fpm"),
    ], [site("globex-www", "globex", libs=[("jquery", "3.4.1")], php="8.2"),
        site("hooli-app", "hooli", apps=[("wordpress", "6.2.6")], php="8.2")]),
    "internal-01": facts("internal-01", "debian-13", [
        comp("redis", "8.0.2", "cache", "redis-server"),
    ], []),
}


def product(pid: str, label: str, cycles: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": 1, "id": pid, "label": label, "category": "test", "aliases": [],
            "labels": {"eoas": None, "eol": None, "eoes": None}, "cycles": cycles}


def cycle(cyc: str, released: int, history: list[Any], *, eol: Any = False, eoas: Any = None, lts: Any = False,
          latest: str | None = None) -> dict[str, Any]:
    return {"cycle": cyc, "codename": None, "release_date": d(released), "lts": lts, "eoas": eoas, "eol": eol,
            "eoes": None, "latest": latest or (history[0][0] if history else None),
            "latest_date": history[0][1] if history and isinstance(history[0], list) else None, "custom": {},
            "history": history}


def catalog_products() -> dict[str, dict[str, Any]]:
    return {
        # PHP 8.5: 60 days old, two patch releases -> ready
        "php": product("php", "PHP", [
            cycle("8.5", 60, [["8.5.2", d(10)], ["8.5.1", d(30)], ["8.5.0", d(60)]], eol="2029-12-31",
                  eoas="2027-12-31"),
            cycle("8.2", 1100, [["8.2.29", d(100)], ["8.2.1", d(1050)], ["8.2.0", d(1100)]], eol="2026-12-31"),
        ]),
        # WordPress 7.1: ready, and a malformed release entry that must be skipped with a warning
        "wordpress": product("wordpress", "WordPress", [
            cycle("7.1", 45, [["7.1.1", d(20)], ["7.1", d(45)], ["7.1.bad", "not-a-date"], "garbage"]),
        ]),
        # jQuery 4: released 90 days ago, no patch release yet -> not ready
        "jquery": product("jquery", "jQuery", [cycle("4", 90, [["4.0.0", d(90)]])]),
        # nginx 1.29: mainline (odd minor) -> never under the policy's cycle_pattern
        "nginx": product("nginx", "nginx", [cycle("1.29", 100, [["1.29.2", d(10)], ["1.29.0", d(100)]])]),
    }


def write_catalog(root: Path, products: dict[str, dict[str, Any]]) -> Path:
    (root / "products").mkdir(parents=True, exist_ok=True)
    for pid, data in products.items():
        (root / "products" / f"{pid}.json").write_text(json.dumps(data), encoding="utf-8")
    return root
