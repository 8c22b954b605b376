"""The POC plan: what a POC of a whole managed host (or of one of its sites) consists of (docs/POC.md).

Built on the controller from the CMDB hostvars of the source (``s4_sites``, ``s4_in_scope``, ``ansible_host``...)
before anything is changed; every refusal raises :class:`PlanError` with the reason.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from s4 import names

NAME_MAX = 63
# the stable suffix of a POC name: the first hex digits of sha256("<client>\0<site or host>") (docs/POC.md)
NAME_HASH_LEN = 8
# PHP-FPM pool users on the POC: s4-<site slug>-<hash>, a valid Linux user name (useradd: <= 32 characters)
POOL_USER_SLUG = 15

# Where an application keeps the data that belongs to the client when it is installed from the distro package
# (the package itself is installed on the POC in the target release's version; only client data is copied).
# key: (app, package root) -> layout, for a docroot at or below the root. A site whose docroot is its own tree
# (/srv/www/...) copies the docroot.
PACKAGED_APPS: dict[tuple[str, str], dict[str, Any]] = {
    ("wordpress", "/usr/share/wordpress"): {
        "packages": ["wordpress"],
        # only the site's own config (Debian's wp-config.php reads /etc/wordpress/config-<Host>.php; the package's
        # own files come from the target release's package) and the content directory (WP_CONTENT_DIR, Debian's
        # default, shared by every packaged WordPress site of the host that does not set its own): finding 6
        "data_paths": ["/etc/wordpress/config-{domain}.php", "/var/lib/wordpress/wp-content"],
        "shared_paths": ["/var/lib/wordpress/wp-content"],
        # where links in the copied data may point besides the data itself: Debian links the themes and plugins of
        # its wordpress-theme-*/-plugin-* packages from wp-content into the package tree (root-owned, no tenant
        # data); one the target release lacks (twentytwentyone on Debian 13) must come from the source
        "link_target_roots": ["/usr/share/wordpress/wp-content/themes", "/usr/share/wordpress/wp-content/plugins"],
        "not_copied": [
            {"path": "/etc/wordpress", "reason": "only the site's own config-<domain>.php is copied; the package's "
             "own files (htaccess) come from the target release's package and other sites' configs hold other "
             "sites' database credentials"},
            {"path": "/var/lib/wordpress", "reason": "only wp-content (the site's themes, plugins, uploads) is "
             "copied; the rest is the package's state, recreated by the target release's package"},
        ],
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
    """``poc-<client>-<site>-<hash>``: a DNS label (lower case, at most 63 characters) that is collision-free.

    The readable part is cut to leave room for the suffix, the first :data:`NAME_HASH_LEN` hex digits of the
    sha256 of the exact ``(client, site or host)`` pair: ``acme`` / ``corp-blog`` and ``acme-corp`` / ``blog``
    (same readable part) or two long names cut alike get different names, and a POC keeps its name across runs.
    """
    digest = hashlib.sha256(f"{client}\0{site_or_host}".encode("utf-8", "surrogatepass")).hexdigest()
    readable = slug(f"poc-{client}-{site_or_host}")[: NAME_MAX - NAME_HASH_LEN - 1].rstrip("-")
    return f"{readable}-{digest[:NAME_HASH_LEN]}"


def pool_user(site: str) -> str:
    """The POC's system user of one site's PHP-FPM pool: ``s4-<slug>-<hash>`` (at most 31 characters, a valid
    Linux user name, never ``www-data`` or ``root``); the hash (:func:`s4.names.file_key`) keeps two sites whose
    names slug alike apart."""
    key = names.file_key(site)
    short = re.sub(r"[^a-z0-9]+", "-", site.lower()).strip("-")[:POOL_USER_SLUG].strip("-") or "site"
    return f"s4-{short}-{key.rsplit('-', 1)[1]}"


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
                "packaged": False, "vhost_docroot": docroot, "vhost": {}, "shared_paths": [], "not_copied": [],
                "alias_configs": [], "link_target_roots": [],
                "credential_pattern": CREDENTIAL_PATTERNS.get(app, GENERIC_CREDENTIAL_PATTERN)}
    preview = preview_name(site["name"], str(site.get("_domain", "")))
    config = layout["config"].format(domain=site["domain"])
    alias_configs = []
    if "{domain}" in layout["config"]:
        # Debian's wp-config.php selects config-<Host>.php: each (non-wildcard) alias gets a link to the site's config
        alias_configs = [layout["config"].format(domain=a) for a in site.get("aliases") or [] if "*" not in a]
    return {
        "packages": [p.format(dbdriver=DB_DRIVERS.get(engine, "mysql")) for p in layout["packages"]],
        "debconf": list(layout.get("debconf", [])),
        "data_paths": [p.format(domain=site["domain"]) for p in layout["data_paths"]],
        "config": config,
        "preview_config": layout["preview_config"].format(preview=preview) if layout.get("preview_config") else None,
        "packaged": True,
        "vhost_docroot": layout.get("docroot", docroot),
        "vhost": dict(layout.get("vhost", {})),
        "shared_paths": list(layout.get("shared_paths", [])),
        "link_target_roots": list(layout.get("link_target_roots", [])),
        "not_copied": [dict(n) for n in layout.get("not_copied", [])],
        "alias_configs": alias_configs,
        "credential_pattern": CREDENTIAL_PATTERNS.get(app, GENERIC_CREDENTIAL_PATTERN),
    }


def _checked(check: Callable[[Any, str], str], value: Any, where: str, field: str) -> str:
    """``check(value)`` or a :class:`PlanError` naming where the value comes from (CMDB host, site, field)."""
    try:
        return check(value, field)
    except names.UnsafeName as exc:
        raise PlanError(f"{where}: {exc}; nothing was changed") from None


def _check_site(source: str, s: Mapping[str, Any]) -> None:
    """Every CMDB value of a site the plan uses, against the strict patterns of :mod:`s4.names` (defence in depth:
    the CMDB schema checks them too)."""
    name = _checked(names.check_site_name, s.get("name"), f"CMDB host {source}", "site name")
    where = f"CMDB host {source}, site {name}"
    _checked(names.check_client_id, s.get("client"), where, "client")
    _checked(names.check_domain, s.get("domain"), where, "domain")
    for a in s.get("aliases") or []:
        _checked(names.check_alias, a, where, "alias")
    docroot = _checked(names.check_abs_path, s.get("docroot"), where, "docroot")
    if docroot == "/":
        raise PlanError(f"{where}: docroot '/' is refused (the POC would copy the whole host); nothing was changed")
    if s.get("app") is not None:
        _checked(names.check_app, s.get("app"), where, "app")
    db = s.get("db")
    if db:
        _checked(names.check_db_name, db.get("name"), where, "db.name")
        if db.get("server"):
            _checked(names.check_host_name, db.get("server"), where, "db.server")


def _check_address(address: Any, where: str) -> str:
    try:
        return str(ipaddress.ip_address(str(address)))
    except ValueError:
        return _checked(names.check_host_name, address, where, "ansible_host")


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
    existing_pocs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The plan of the POC of ``source`` (or of its site ``site``); raises :class:`PlanError` to refuse.

    ``existing_pocs`` are the ``s4_poc`` records of the POC inventory entries (``{name: {source, site, client}}``): a
    POC created before names carried a hash keeps its name (:func:`_legacy_name`) when its entry records exactly this
    client, source and site, so a rerun, the go-live's final sync and the teardown keep working on it.

    Tenant isolation (docs/SECURITY.md, issue #13 finding 6): a POC holds one client's data only. A whole-host POC of
    a host whose sites belong to several clients is refused (plan one POC per site); a site's POC copies only that
    site's files, and is refused when a directory it must copy is shared with a site of another client (Debian's
    ``/var/lib/wordpress/wp-content``, ``/etc/roundcube``). What is found but not copied is listed in
    ``not_copied`` with the reason (the report shows it).
    """
    in_scope = set(in_scope)
    if not source:
        raise PlanError("no source given: set -e s4_poc_source=<inventory host of the CMDB>")
    _checked(names.check_host_name, source, "source (-e s4_poc_source)", "host name")
    if site:
        _checked(names.check_site_name, site, "site (-e s4_poc_site)", "site name")
    _checked(names.check_domain, domain, f"CMDB host {source}", "s4_domain")
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
    address = _check_address(address, f"CMDB host {source}")
    sites = list(hv.get("s4_sites") or [])
    for s in sites:
        _check_site(source, s)
    if site:
        chosen = [s for s in sites if s.get("name") == site]
        if not chosen:
            site_names = ", ".join(s.get("name", "?") for s in sites) or "none"
            raise PlanError(f"unknown site {site!r} on {source} (its sites: {site_names})")
    else:
        chosen = sites
    if not chosen:
        raise PlanError(f"source {source!r} has no site in the CMDB: nothing to migrate")
    clients = sorted({s["client"] for s in chosen})
    if len(clients) > 1:
        raise PlanError(
            f"source {source!r} holds sites of several clients ({', '.join(clients)}): a whole-host POC would copy "
            "every tenant's data onto one VM; plan one POC per site (-e s4_poc_site=NAME). Nothing was changed."
        )
    client = clients[0]
    name = poc_name(client, site or source)
    legacy = _legacy_name(client, site or source)
    rec = (existing_pocs or {}).get(legacy) or {}
    if rec and (rec.get("client"), rec.get("source"), rec.get("site") or None) == (client, source, site or None):
        name = legacy

    plan_sites: list[dict[str, Any]] = []
    databases: list[dict[str, Any]] = []
    packages: list[str] = []
    debconf: list[dict[str, str]] = []
    not_copied: list[dict[str, Any]] = []
    chosen_names = {s["name"] for s in chosen}
    others = [s for s in sites if s["name"] not in chosen_names]
    for s in chosen:
        layout = site_layout({**s, "_domain": domain})
        for shared in layout["shared_paths"]:
            sharing = [o for o in others if shared in site_layout({**o, "_domain": domain})["shared_paths"]]
            foreign = sorted(f"{o['name']} ({o['client']})" for o in sharing if o["client"] != s["client"])
            if foreign:
                raise PlanError(
                    f"site {s['name']} of {source}: {shared} is shared with sites of other clients "
                    f"({', '.join(foreign)}): the POC would copy their files. Nothing was changed."
                )
            if sharing:
                not_copied.append({"path": shared, "site": s["name"], "copied": True,
                                   "reason": "shared with other sites of the same client ("
                                             + ", ".join(sorted(o["name"] for o in sharing)) + "): copied whole"})
        for n in layout["not_copied"]:
            if not any(x["path"] == n["path"] and not x.get("copied") for x in not_copied):
                not_copied.append({**n, "site": s["name"], "copied": False})
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
                    "server_address": _check_address(shv.get("ansible_host"), f"CMDB host {server}"),
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
                "alias_configs": layout["alias_configs"],
                "preview_config": layout["preview_config"],
                "vhost_docroot": layout["vhost_docroot"],
                "vhost": layout["vhost"],
                "credential_pattern": layout["credential_pattern"],
                "marker": APP_MARKERS.get(s.get("app") or ""),
                "pool_user": pool_user(s["name"]),
            }
        )
    for o in others:
        # what the CMDB says lives on the source but is not part of this POC
        lay = site_layout({**o, "_domain": domain})
        for p in [lay["config"], *lay["data_paths"]]:
            if p and p not in lay["shared_paths"] and not any(x["path"] == p for x in not_copied):
                not_copied.append({"path": p, "site": o["name"], "copied": False,
                                   "reason": f"site {o['name']} of client {o['client']} is not part of this POC"})
    engines = sorted({d["family"] for d in databases})
    for fam in engines:
        if fam not in versions:
            raise PlanError(f"profile {profile.get('name')} provides no {fam} version")
    if any(s["app"] for s in plan_sites) and "php" not in versions:
        raise PlanError(f"profile {profile.get('name')} provides no PHP version")
    users = [s["pool_user"] for s in plan_sites]
    if len(set(users)) != len(users):  # pragma: no cover - the hash suffix makes this a sha256 collision
        raise PlanError(f"two sites of {source} get the same pool user: {users}")
    return {
        "name": name,
        "legacy_name": legacy,
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
        # package trees links in the copied data may point into (never tenant data): what the link-target copy may
        # fetch from the source besides data_paths
        "link_target_roots": _minimal_roots(
            p for s in chosen for p in site_layout({**s, "_domain": domain})["link_target_roots"]),
        "not_copied": not_copied,
        "tags": ["s4-poc", f"client-{slug(client)}", f"src-{slug(source)}", f"profile-{slug(str(profile.get('name')))}"],
    }


def _legacy_name(client: str, site_or_host: str) -> str:
    """The name a POC got before names carried a hash suffix (poc-acme-acme-blog): a POC created then keeps it
    (teardown, go-live by that name); a new provision creates the POC under :func:`poc_name`."""
    return slug(f"poc-{client}-{site_or_host}")[:NAME_MAX].rstrip("-")


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


_PRIV_RE = re.compile(r"^[A-Z][A-Z ]{0,39}$")


def _source_error(host: str, database: str, what: str, value: Any, exc: Exception | str) -> PlanError:
    src = f"source {host}, " if host else ""
    return PlanError(
        f"{src}database {database}: {what} {value!r} refused ({exc}). The POC is refused rather than built without "
        "it (an account or role left out would break the application and drop data silently); rename it on the "
        "source. Nothing was changed."
    )


def mariadb_accounts(rows: str, database: str, host: str = "") -> list[dict[str, Any]]:
    """Accounts and privileges on ``database`` from ``GRANTEE<TAB>PRIV,PRIV`` lines of information_schema.

    Everything here comes from the source (issue #13 finding 2): every account name, host part and privilege is
    checked against :mod:`s4.names` and a line that does not parse is refused, with :class:`PlanError` naming the
    source ``host`` and the database (refuse the POC, never skip an account silently)."""
    try:
        names.check_db_name(database)
    except names.UnsafeName as exc:
        raise _source_error(host, str(database), "database name", database, exc) from None
    out = []
    for line in rows.splitlines():
        if not line.strip():
            continue
        grantee, sep, privs = line.partition("\t")
        m = re.match(r"^'(.*)'@'(.*)'$", grantee.strip())
        if not sep or not m:
            raise _source_error(host, database, "grantee line", line, "not 'user'@'host'<TAB>privileges")
        user, user_host = m.group(1), m.group(2)
        if user in SYSTEM_ROLES:
            continue
        try:
            names.check_db_account(user, "account")
            names.check_db_account_host(user_host, "account host")
        except names.UnsafeName as exc:
            raise _source_error(host, database, "account", f"{user}@{user_host}", exc) from None
        have = {p.strip().upper() for p in privs.split(",") if p.strip()}
        bad = sorted(p for p in have if not _PRIV_RE.match(p))
        if bad:
            raise _source_error(host, database, "privilege of account " + user, bad[0], "not a privilege name")
        granted = "ALL" if have >= MARIADB_ALL else ",".join(sorted(have))
        out.append({"name": user, "host": user_host, "privileges": [{"db": database, "privs": granted}]})
    return sorted(out, key=lambda a: (a["name"], a["host"]))


def postgres_roles(rows: str, host: str = "", database: str = "") -> dict[str, Any]:
    """``{owner, roles}`` from ``ROLE|is_owner(t|f)|can_login(t|f)`` lines (``psql -At -F '|'``).

    Role names come from the source: each is checked against :mod:`s4.names` and a line that does not parse is
    refused (:class:`PlanError` naming the source ``host`` and ``database``)."""
    owner = "postgres"
    roles: list[dict[str, Any]] = []
    for line in rows.splitlines():
        if not line.strip():
            continue
        parts = line.rsplit("|", 2)
        if len(parts) != 3 or parts[1] not in ("t", "f") or parts[2] not in ("t", "f"):
            raise _source_error(host, database or "?", "role line", line, "not ROLE|t/f|t/f")
        if parts[0] in SYSTEM_ROLES or parts[0].startswith("pg_"):
            continue
        try:
            names.check_db_account(parts[0], "role")
        except names.UnsafeName as exc:
            raise _source_error(host, database or "?", "role", parts[0], exc) from None
        if parts[1] == "t":
            owner = parts[0]
        if parts[0] not in [r["name"] for r in roles]:
            roles.append({"name": parts[0], "login": parts[2] == "t"})
    return {"owner": owner, "roles": sorted(roles, key=lambda r: r["name"])}
