"""Inputs of the POC's roles and the judgement of its checks, derived from the plan and what the run gathered.

Pure functions over plain data (the ``smartt.s4.poc_*`` filters call them with hostvars turned into dicts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from s4 import names

DB_ERRORS = (
    "Error establishing a database connection",
    "Fatal error",
    "Uncaught",
    "PDOException",
    "DATABASE ERROR",
    "could not connect",
)
BASE_EXTENSIONS = ["mysql", "curl", "gd", "mbstring", "xml", "zip", "intl"]


def webserver(plan: Mapping[str, Any], source_facts: Mapping[str, Any] | None) -> str:
    """``apache2`` when the source serves any of the planned sites with apache2/httpd, else ``nginx``."""
    names = {s["name"] for s in plan["sites"]}
    for s in (source_facts or {}).get("sites") or []:
        if s.get("name") in names and s.get("server") in ("apache2", "httpd"):
            return "apache2"
    return "nginx"


def site_user(plan_site: Mapping[str, Any], db_facts: Mapping[str, Any]) -> str | None:
    """The account a site's app logs in with: the one named like its database, else the first login account."""
    db = plan_site.get("db")
    if not db:
        return None
    f = db_facts.get(db["name"]) or {}
    if db["engine"] == "postgresql":
        names = [r["name"] for r in (f.get("roles") or {}).get("roles", []) if r.get("login")]
    else:
        names = [a["name"] for a in f.get("accounts") or []]
    if db["name"] in names:
        return str(db["name"])
    return names[0] if names else None


def stack(
    plan: Mapping[str, Any],
    source_facts: Mapping[str, Any] | None,
    db_facts: Mapping[str, Any],
    passwords: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Variables of s4_webstack / s4_mariadb / s4_postgresql / s4_data_migrate for the POC."""
    passwords = passwords or {}
    _check_db_facts(plan, db_facts)
    server = webserver(plan, source_facts)
    db_users: list[str] = []
    mariadb_users: list[dict[str, Any]] = []
    pg_users: list[dict[str, Any]] = []
    migrate: list[dict[str, Any]] = []
    for db in plan["databases"]:
        f = db_facts.get(db["name"])
        if f is None:
            raise ValueError(f"no facts gathered for database {db['name']} on {db['server']}")
        if db["family"] == "mariadb":
            for a in f.get("accounts") or []:
                if a["name"] not in db_users:
                    db_users.append(a["name"])
                mariadb_users.append({**a, "password": passwords.get(a["name"], "")})
            owner = "postgres"
        else:
            roles = f.get("roles") or {"owner": "postgres", "roles": []}
            for r in roles["roles"]:
                if r["name"] not in db_users:
                    db_users.append(r["name"])
                if r["name"] not in [u["name"] for u in pg_users]:
                    pg_users.append({"name": r["name"], "password": passwords.get(r["name"], "")})
            owner = roles["owner"]
        migrate.append({"engine": db["engine"], "name": db["name"], "source_checksum": f["checksum"], "owner": owner})
    php = str(plan["versions"]["php"]["version"])
    site_users = {s["name"]: site_user(s, db_facts) for s in plan["sites"]}
    sites = [
        {
            "name": s["name"],
            "domain": s["domain"],
            "aliases": list(s["aliases"]),
            "preview_domains": [s["preview"]],
            "docroot": s["vhost_docroot"],
            "php": True,
            "pool": s["name"],
            "client": s["client"],
            "extra_config": "\n".join(
                x for x in ((s.get("vhost") or {}).get(server, ""), probe_config(server, socket(php, s["name"]))) if x
            ),
        }
        for s in plan["sites"]
    ]
    return {
        "webserver": server,
        "php_extensions": BASE_EXTENSIONS + (["pgsql"] if "postgresql" in plan["engines"] else []),
        # one system user per site's pool (issue #13 finding 6); primary group www-data: the copied files keep the
        # source's owners (rsync --numeric-ids), and the app configs are root:www-data 0640 as Debian ships them
        "pools": [{"name": s["name"], "user": s["pool_user"], "group": POOL_GROUP, "listen": socket(php, s["name"])}
                  for s in plan["sites"]],
        "pool_users": {s["name"]: s["pool_user"] for s in plan["sites"]},
        "probe_file": PROBE_FILE,
        "sites": sites,
        "db_users": db_users,
        "mariadb_users": mariadb_users,
        "postgresql_users": pg_users,
        "migrate_databases": migrate,
        "site_users": site_users,
        # the controller file of each account's generated password: a safe encoding, never the raw name (finding 2)
        "credential_files": {u: names.file_key(u) for u in db_users},
        # the regex finding each site's DB password in its config, the account name escaped (finding 3)
        "credential_regexes": {s["name"]: credential_regex(s["credential_pattern"], site_users[s["name"]])
                               for s in plan["sites"] if site_users[s["name"]] is not None},
    }


POOL_GROUP = "www-data"


def credential_regex(pattern: str, user: str | None) -> str:
    """``pattern`` with ``{user}`` replaced by the regex-escaped account name (a name is data, never regex)."""
    return pattern.replace("{user}", re.escape(user or ""))


def _check_db_facts(plan: Mapping[str, Any], db_facts: Mapping[str, Any]) -> None:
    """Account and role names gathered from the source, checked again before they become role inputs and
    controller file names (defence in depth: the parsers in :mod:`s4.poc.plan` check them first)."""
    for db in plan["databases"]:
        f = db_facts.get(db["name"]) or {}
        where = f"source {db['server']}, database {db['name']}"
        found = [(a.get("name"), "account") for a in f.get("accounts") or []]
        found += [(r.get("name"), "role") for r in (f.get("roles") or {}).get("roles", [])]
        found += [((f.get("roles") or {}).get("owner", "postgres"), "owner role")]
        for value, what in found:
            try:
                names.check_db_account(value, what)
            except names.UnsafeName as exc:
                raise ValueError(f"{where}: {exc}; nothing was changed") from None
        for a in f.get("accounts") or []:
            try:
                names.check_db_account_host(a.get("host"), f"host part of account {a.get('name')}")
            except names.UnsafeName as exc:
                raise ValueError(f"{where}: {exc}; nothing was changed") from None


PROBE_FILE = "/var/lib/s4-poc/php-version.php"
PROBE_URI = "/.s4-poc-php-version"


def socket(php: str, pool: str) -> str:
    return f"/run/php/php{php}-fpm-{pool}.sock"


def probe_config(server: str, sock: str) -> str:
    """A location answering PHP_VERSION through the site's own pool (the POC's PHP check; outside the docroot)."""
    if server == "apache2":
        return (
            f"Alias {PROBE_URI} {PROBE_FILE}\n"
            f"<Directory {PROBE_FILE.rsplit('/', 1)[0]}>\n"
            "    Require all granted\n"
            f'    SetHandler "proxy:unix:{sock}|fcgi://s4-poc-probe"\n'
            "</Directory>"
        )
    return (
        f"location = {PROBE_URI} {{\n"
        "    include fastcgi_params;\n"
        f"    fastcgi_param SCRIPT_FILENAME {PROBE_FILE};\n"
        f"    fastcgi_pass unix:{sock};\n"
        "}"
    )


def probes(plan: Mapping[str, Any]) -> list[list[str]]:
    """``[site, host name]`` pairs the interop check asks: each site's own name and its preview name."""
    return [[s["name"], h] for s in plan["sites"] for h in (s["domain"], s["preview"])]


def interop(
    plan: Mapping[str, Any],
    http_results: Iterable[Mapping[str, Any]],
    php_results: Iterable[Mapping[str, Any]],
    services: Mapping[str, Any],
    php: str,
    server: str,
) -> list[dict[str, Any]]:
    """Judge the HTTP answers (one per probe) and the services of the POC."""
    out: list[dict[str, Any]] = []
    sites = {s["name"]: s for s in plan["sites"]}
    for r in http_results:
        site_name, host = r["item"][0], r["item"][1]
        site = sites[site_name]
        status = r.get("status")
        body = str(r.get("content") or "")
        errors = [e for e in DB_ERRORS if e in body]
        marker = site.get("marker")
        marker_ok = not marker or marker in body
        detail = f"HTTP {status}"
        if marker:
            detail += ", app marker found" if marker_ok else f", app marker {marker!r} missing"
        if errors:
            detail += ", errors: " + ", ".join(errors)
        out.append({"check": f"http {host}", "site": site_name, "passed": status == 200 and marker_ok and not errors,
                    "detail": detail})
        if site.get("db"):
            ok = status == 200 and not errors
            out.append({"check": f"app reaches its database ({host})", "site": site_name, "passed": ok,
                        "detail": "page rendered without database errors" if ok else detail})
    for r in php_results:
        site_name, host = r["item"][0], r["item"][1]
        served = str(r.get("content") or "").strip() if r.get("status") == 200 else ""
        out.append({"check": f"served PHP version ({host})", "site": site_name,
                    "passed": served.startswith(f"{php}."),
                    "detail": f"PHP {served or 'not answering (HTTP ' + str(r.get('status')) + ')'} "
                              f"through the site's pool, target {php}"})
    units = [f"{server}.service", f"php{php}-fpm.service"]
    if "mariadb" in plan["engines"]:
        units.append("mariadb.service")
    if "postgresql" in plan["engines"]:
        units.append("postgresql.service")
    for u in units:
        svc = services.get(u) or {}
        state, status = svc.get("state", "absent"), svc.get("status", "absent")
        passed = state == "running" and status == "enabled"
        detail = f"{state}, {status}"
        if u == "postgresql.service":
            # Debian's postgresql.service is an enabled umbrella unit; the server is the cluster instance it starts
            pg = str(plan["versions"].get("postgresql", {}).get("version", ""))
            inst = services.get(f"postgresql@{pg}-main.service") or {}
            passed = status == "enabled" and inst.get("state") == "running"
            detail = f"{status}; postgresql@{pg}-main {inst.get('state', 'absent')}"
        out.append({"check": f"service {u}", "site": "", "passed": passed, "detail": detail})
    return out


def dns_live_records(plan: Mapping[str, Any], address: str) -> list[dict[str, str]]:
    """A records of every site name (domain and aliases) pointing at the POC: what the go-live switch publishes."""
    return [{"name": n, "type": "A", "value": address} for s in plan["sites"] for n in [s["domain"], *s["aliases"]]]
