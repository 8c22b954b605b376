"""The POC plan: what a POC of a whole managed host (or of one of its sites) consists of (docs/POC.md).

Built on the controller from the CMDB hostvars of the source (``s4_sites``, ``s4_in_scope``, ``ansible_host``...)
before anything is changed; every refusal raises :class:`PlanError` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

NAME_MAX = 63

# Where an application keeps the data that belongs to the client when it is installed from the distro package
# (the package itself is installed on the POC in the target release's version; only client data is copied).
# key: (app, package root) -> layout, for a docroot at or below the root. A site whose docroot is its own tree
# (/srv/www/...) copies the docroot.
PACKAGED_APPS: dict[tuple[str, str], dict[str, Any]] = {
    ("wordpress", "/usr/share/wordpress"): {
        "packages": ["wordpress"],
        "data_paths": ["/etc/wordpress", "/var/lib/wordpress"],
        "config": "/etc/wordpress/config-{domain}.php",
        "preview_config": "/etc/wordpress/config-{preview}.php",
        "vhost": {
            "nginx": "location /wp-content/ { alias /var/lib/wordpress/wp-content/; }",
            "apache2": "Alias /wp-content /var/lib/wordpress/wp-content\n"
                       "<Directory /var/lib/wordpress/wp-content>\n    Require all granted\n</Directory>",
        },
    },
    ("roundcube", "/var/lib/roundcube"): {
        "packages": ["roundcube-core", "roundcube-{dbdriver}"],
        "debconf": [
            {"name": "roundcube-core", "question": "roundcube/dbconfig-install", "vtype": "boolean", "value": "false"},
            {"name": "roundcube-core", "question": "roundcube/reconfigure-webserver", "vtype": "multiselect",
             "value": ""},
        ],
        "data_paths": ["/etc/roundcube"],
        "config": "/etc/roundcube/debian-db.php",
        "docroot": "/var/lib/roundcube/public_html",
        # IncludeOptional: the vhost is written before the package (and the client's copy of its config) is there
        "vhost": {"apache2": "IncludeOptional /etc/roundcube/apache.conf", "nginx": ""},
    },
}
# How each application's DB password is written in its config (regex with the value between groups 1 and 2).
CREDENTIAL_PATTERNS: dict[str, str] = {
    "wordpress": r"(define\(\s*'DB_PASSWORD'\s*,\s*')[^']*(')",
    "roundcube": r"(\$dbpass\s*=\s*')[^']*(')",
}
# Any other PHP app: the string literal following the quoted DB user in a call (PDO, mysqli, pg_connect ...)
GENERIC_CREDENTIAL_PATTERN = r"((?:['\"]){user}['\"]\s*,\s*['\"])[^'\"]*(['\"])"
DB_DRIVERS = {"mariadb": "mysql", "mysql": "mysql", "postgresql": "pgsql"}
# what an interop check looks for in the front page of an application
APP_MARKERS: dict[str, str] = {
    "wordpress": 'content="WordPress',
    "roundcube": 'name="_user"',
}


class PlanError(ValueError):
    """The POC cannot be planned (unknown or out-of-scope source, unknown site ...); the message says why."""


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return re.sub(r"-{2,}", "-", s)


def poc_name(client: str, site_or_host: str) -> str:
    """``poc-<client>-<site>``, as a DNS label (lower case, at most 63 characters)."""
    name = slug(f"poc-{client}-{site_or_host}")
    if len(name) > NAME_MAX:
        name = name[:NAME_MAX].rstrip("-")
    return name


def preview_name(site: str, domain: str) -> str:
    return f"{slug(site)}.poc.{domain}"


def _minimal_roots(paths: Iterable[str]) -> list[str]:
    """Sorted absolute paths with every path nested in another one dropped."""
    out: list[str] = []
    for p in sorted({p.rstrip("/") or "/" for p in paths}):
        if not any(p == r or p.startswith(r.rstrip("/") + "/") for r in out):
            out.append(p)
    return out


def site_layout(site: Mapping[str, Any]) -> dict[str, Any]:
    """Packages to install, data paths to copy and DB config file of one site."""
    app = site.get("app") or ""
    docroot = str(site["docroot"]).rstrip("/") or "/"
    engine = (site.get("db") or {}).get("engine", "")
    layout = None
    for (papp, root), candidate in PACKAGED_APPS.items():
        if papp == app and (docroot == root or docroot.startswith(root + "/")):
            layout = candidate
    if layout is None:
        return {"packages": [], "debconf": [], "data_paths": [docroot], "config": None, "preview_config": None,
                "packaged": False, "vhost_docroot": docroot, "vhost": {},
                "credential_pattern": CREDENTIAL_PATTERNS.get(app, GENERIC_CREDENTIAL_PATTERN)}
    preview = preview_name(site["name"], str(site.get("_domain", "")))
    return {
        "packages": [p.format(dbdriver=DB_DRIVERS.get(engine, "mysql")) for p in layout["packages"]],
        "debconf": list(layout.get("debconf", [])),
        "data_paths": list(layout["data_paths"]),
        "config": layout["config"].format(domain=site["domain"]),
        "preview_config": layout["preview_config"].format(preview=preview) if layout.get("preview_config") else None,
        "packaged": True,
        "vhost_docroot": layout.get("docroot", docroot),
        "vhost": dict(layout.get("vhost", {})),
        "credential_pattern": CREDENTIAL_PATTERNS.get(app, GENERIC_CREDENTIAL_PATTERN),
    }


def build(
    source: str,
    hostvars: Mapping[str, Mapping[str, Any]],
    in_scope: Iterable[str],
    *,
    site: str | None = None,
    domain: str,
    profile: Mapping[str, Any],
    versions: Mapping[str, Mapping[str, str]],
    webserver: str | None = None,
) -> dict[str, Any]:
    """The plan of the POC of ``source`` (or of its site ``site``); raises :class:`PlanError` to refuse."""
    in_scope = set(in_scope)
    if not source:
        raise PlanError("no source given: set -e s4_poc_source=<inventory host of the CMDB>")
    hv = hostvars.get(source)
    if hv is None or "s4_service" not in hv:
        known = ", ".join(sorted(h for h, v in hostvars.items() if "s4_service" in v)) or "none"
        raise PlanError(f"unknown source {source!r}: not a host of the CMDB (known: {known})")
    if source not in in_scope or not hv.get("s4_in_scope"):
        raise PlanError(
            f"source {source!r} is out of scope (service {hv.get('s4_service')!r}): POCs are built only for "
            "in-scope hosts (mvps, shared_hosting, internal)"
        )
    address = hv.get("ansible_host")
    if not address:
        raise PlanError(f"source {source!r} has no address (ansible_host) in the CMDB")
    sites = list(hv.get("s4_sites") or [])
    if site:
        chosen = [s for s in sites if s.get("name") == site]
        if not chosen:
            names = ", ".join(s.get("name", "?") for s in sites) or "none"
            raise PlanError(f"unknown site {site!r} on {source} (its sites: {names})")
    else:
        chosen = sites
    if not chosen:
        raise PlanError(f"source {source!r} has no site in the CMDB: nothing to migrate")
    clients = sorted({s["client"] for s in chosen})
    client = clients[0] if len(clients) == 1 else "multi"
    name = poc_name(client, site or source)

    plan_sites: list[dict[str, Any]] = []
    databases: list[dict[str, Any]] = []
    packages: list[str] = []
    debconf: list[dict[str, str]] = []
    for s in chosen:
        layout = site_layout({**s, "_domain": domain})
        debconf.extend(d for d in layout["debconf"] if d not in debconf)
        db = s.get("db")
        if db:
            server = db.get("server") or source
            shv = hostvars.get(server)
            if shv is None or "s4_service" not in shv:
                raise PlanError(f"site {s['name']}: database server {server!r} is not a host of the CMDB")
            if server not in in_scope:
                raise PlanError(f"site {s['name']}: database server {server!r} is out of scope")
            if db["engine"] not in ("mariadb", "mysql", "postgresql"):
                raise PlanError(f"site {s['name']}: unsupported database engine {db['engine']!r}")
            databases.append(
                {
                    "site": s["name"],
                    "engine": db["engine"],
                    "name": db["name"],
                    "server": server,
                    "server_address": shv.get("ansible_host"),
                    "family": "postgresql" if db["engine"] == "postgresql" else "mariadb",
                }
            )
        packages.extend(p for p in layout["packages"] if p not in packages)
        plan_sites.append(
            {
                "name": s["name"],
                "client": s["client"],
                "domain": s["domain"],
                "aliases": list(s.get("aliases") or []),
                "docroot": s["docroot"],
                "app": s.get("app"),
                "db": dict(db) if db else None,
                "preview": preview_name(s["name"], domain),
                "data_paths": layout["data_paths"],
                "packages": layout["packages"],
                "packaged": layout["packaged"],
                "config": layout["config"],
                "preview_config": layout["preview_config"],
                "vhost_docroot": layout["vhost_docroot"],
                "vhost": layout["vhost"],
                "credential_pattern": layout["credential_pattern"],
                "marker": APP_MARKERS.get(s.get("app") or ""),
            }
        )
    engines = sorted({d["family"] for d in databases})
    for fam in engines:
        if fam not in versions:
            raise PlanError(f"profile {profile.get('name')} provides no {fam} version")
    if any(s["app"] for s in plan_sites) and "php" not in versions:
        raise PlanError(f"profile {profile.get('name')} provides no PHP version")
    return {
        "name": name,
        "source": source,
        "source_address": address,
        "client": client,
        "clients": clients,
        "scope": "site" if site else "host",
        "site": site,
        "domain": domain,
        "profile": dict(profile),
        "versions": {k: dict(v) for k, v in versions.items()},
        "webserver": webserver or "nginx",
        "sites": plan_sites,
        "databases": databases,
        "engines": engines,
        "packages": packages,
        "debconf": debconf,
        "data_paths": _minimal_roots(p for s in plan_sites for p in s["data_paths"]),
        "tags": ["s4-poc", f"client-{slug(client)}", f"src-{slug(source)}", f"profile-{slug(str(profile.get('name')))}"],
    }


def hosts_lines(plan: Mapping[str, Any], address: str) -> list[str]:
    """``/etc/hosts`` lines a client adds to test the POC (preview name plus the site's own names)."""
    return [
        " ".join([address, s["preview"], s["domain"], *s["aliases"]])
        for s in plan["sites"]
    ]


def dns_records(plan: Mapping[str, Any], address: str) -> list[dict[str, str]]:
    return [{"name": s["preview"], "type": "A", "value": address} for s in plan["sites"]]


MARIADB_ALL = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "REFERENCES", "INDEX", "ALTER",
    "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE",
    "ALTER ROUTINE", "EVENT", "TRIGGER",
}
SYSTEM_ROLES = {"postgres", "PUBLIC", "root", "mysql", "mariadb.sys"}


def mariadb_accounts(rows: str, database: str) -> list[dict[str, Any]]:
    """Accounts and privileges on ``database`` from ``GRANTEE<TAB>PRIV,PRIV`` lines of information_schema."""
    out = []
    for line in rows.splitlines():
        if "\t" not in line:
            continue
        grantee, privs = line.split("\t", 1)
        m = re.match(r"^'(.*)'@'(.*)'$", grantee.strip())
        if not m or m.group(1) in SYSTEM_ROLES:
            continue
        have = {p.strip().upper() for p in privs.split(",") if p.strip()}
        granted = "ALL" if have >= MARIADB_ALL else ",".join(sorted(have))
        out.append({"name": m.group(1), "host": m.group(2), "privileges": [{"db": database, "privs": granted}]})
    return sorted(out, key=lambda a: (a["name"], a["host"]))


def postgres_roles(rows: str) -> dict[str, Any]:
    """``{owner, roles}`` from ``ROLE|is_owner(t|f)|can_login(t|f)`` lines (``psql -At -F '|'``)."""
    owner = "postgres"
    roles: list[dict[str, Any]] = []
    for line in rows.splitlines():
        parts = line.rsplit("|", 2)
        if len(parts) != 3 or parts[0] in SYSTEM_ROLES or parts[0].startswith("pg_"):
            continue
        if parts[1] == "t":
            owner = parts[0]
        if parts[0] not in [r["name"] for r in roles]:
            roles.append({"name": parts[0], "login": parts[2] == "t"})
    return {"owner": owner, "roles": sorted(roles, key=lambda r: r["name"])}
