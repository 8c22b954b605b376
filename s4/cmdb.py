"""CMDB model and validation (docs/CMDB.md, schema version 1).

Pure Python: the ``smartt.s4.cmdb`` inventory plugin is a thin wrapper over :func:`load` / :func:`validate`.
Validation collects every problem before failing; each message names the file, the host (when the problem
belongs to one) and the field, e.g.::

    inventories/lab/cmdb.yml: host mvps-acme-01: sites[0].db.server: 'db-09' is not a host of this CMDB
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import yaml

SCHEMA_VERSION = 1
IN_SCOPE = ("mvps", "shared_hosting", "internal")
OUT_OF_SCOPE = ("unmanaged", "colocation", "connectivity")
SERVICE_CLASSES = IN_SCOPE + OUT_OF_SCOPE
DB_ENGINES = ("mariadb", "mysql", "postgresql")
LICENCE_KINDS = ("licence", "support")

CLIENT_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
SITE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

TOP_KEYS = {"version", "domain", "clients", "hosts"}
CLIENT_KEYS = {"name", "contacts"}
HOST_KEYS = {"service", "address", "os", "clients", "public", "vars", "sites", "licences"}
SITE_KEYS = {"name", "client", "domain", "aliases", "docroot", "app", "db"}
DB_KEYS = {"engine", "name", "server"}
LICENCE_KEYS = {"product", "kind", "vendor", "client", "expires"}
# hostvars the plugin sets itself; `vars` may not override them
RESERVED_VARS = {
    "s4_service", "s4_in_scope", "s4_clients", "s4_sites", "s4_licences", "s4_public", "s4_os", "ansible_host",
}


class CmdbError(Exception):
    """The CMDB is invalid; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"{n} CMDB problem{'s' if n != 1 else ''}:\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    contacts: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "contacts": list(self.contacts)}


@dataclass(frozen=True)
class SiteDb:
    engine: str
    name: str
    server: str

    def to_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "name": self.name, "server": self.server}


@dataclass(frozen=True)
class Site:
    name: str
    client: str
    domain: str
    docroot: str
    aliases: tuple[str, ...] = ()
    app: str | None = None
    db: SiteDb | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "client": self.client, "domain": self.domain, "aliases": list(self.aliases),
            "docroot": self.docroot, "app": self.app, "db": self.db.to_dict() if self.db else None,
        }


@dataclass(frozen=True)
class Licence:
    product: str
    kind: str
    expires: _dt.date
    vendor: str | None = None
    client: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "kind": self.kind, "vendor": self.vendor, "client": self.client,
                "expires": self.expires.isoformat()}


@dataclass(frozen=True)
class Host:
    name: str
    service: str
    address: str
    clients: tuple[str, ...]
    os: str | None = None
    public: bool = False
    vars: dict[str, Any] = field(default_factory=dict)
    sites: tuple[Site, ...] = ()
    licences: tuple[Licence, ...] = ()

    @property
    def in_scope(self) -> bool:
        return self.service in IN_SCOPE


@dataclass
class Cmdb:
    source: str
    version: int
    domain: str
    clients: dict[str, Client]
    hosts: dict[str, Host]

    def hostvars(self, name: str) -> dict[str, Any]:
        """The hostvars the inventory plugin sets for ``name`` (JSON-safe)."""
        h = self.hosts[name]
        hv: dict[str, Any] = dict(h.vars)
        hv.update({
            "ansible_host": h.address,
            "s4_service": h.service,
            "s4_in_scope": h.in_scope,
            "s4_os": h.os,
            "s4_public": h.public,
            "s4_clients": [self.clients[c].to_dict() for c in h.clients],
            "s4_sites": [s.to_dict() for s in h.sites],
            "s4_licences": [lic.to_dict() for lic in h.licences],
            "s4_domain": self.domain,
        })
        return hv

    def groups(self, name: str) -> list[str]:
        """Groups ``name`` belongs to (group names are safe: '-' becomes '_')."""
        h = self.hosts[name]
        out = ["s4_in_scope" if h.in_scope else "s4_out_of_scope", f"service_{h.service}"]
        out.extend(client_group(c) for c in h.clients)
        return out

    @property
    def in_scope(self) -> list[str]:
        return [n for n, h in self.hosts.items() if h.in_scope]

    @property
    def out_of_scope(self) -> list[str]:
        return [n for n, h in self.hosts.items() if not h.in_scope]


def client_group(client_id: str) -> str:
    return "client_" + client_id.replace("-", "_")


# --- YAML loading that keeps duplicate keys visible -------------------------------------------------------------

def _yaml_load(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CmdbError([f"{source}: not valid YAML: {exc}"]) from None


def _host_duplicates(text: str) -> list[tuple[str, int]]:
    """(host name, line) of every repeated key directly under ``cmdb.hosts`` (found on the node tree)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    out: list[tuple[str, int]] = []

    def child(node: Any, key: str) -> Any:
        if not isinstance(node, yaml.MappingNode):
            return None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
        return None

    hosts = child(child(root, "cmdb"), "hosts")
    if isinstance(hosts, yaml.MappingNode):
        seen: set[str] = set()
        for k, _v in hosts.value:
            if isinstance(k, yaml.ScalarNode):
                if k.value in seen:
                    out.append((k.value, k.start_mark.line + 1))
                seen.add(k.value)
    return out


def load(path: str | Path) -> Cmdb:
    """Read and validate a CMDB file (the whole inventory source with ``plugin:`` and ``cmdb:``)."""
    p = Path(path)
    source = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CmdbError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise CmdbError([f"{source}: not UTF-8 text: {exc}"]) from None
    return loads(text, source)


def loads(text: str, source: str = "<cmdb>") -> Cmdb:
    data = _yaml_load(text, source)
    problems = [
        f"{source}: host {name}: (line {line}): duplicate host (defined more than once under cmdb.hosts)"
        for name, line in _host_duplicates(text)
    ]
    if not isinstance(data, dict):
        raise CmdbError(problems + [f"{source}: the file must be a mapping with plugin: smartt.s4.cmdb and cmdb:"])
    if "cmdb" not in data:
        raise CmdbError(problems + [f"{source}: cmdb: missing (the CMDB data sits under the cmdb: key)"])
    try:
        model = validate(data["cmdb"], source)
    except CmdbError as exc:
        raise CmdbError(problems + exc.problems) from None
    if problems:
        raise CmdbError(problems)
    return model


# --- validation ---------------------------------------------------------------------------------------------------

class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def err(self, where: str, fld: str, msg: str) -> None:
        prefix = f"{self.source}: {where}: " if where else f"{self.source}: "
        self.problems.append(f"{prefix}{fld}: {msg}")


def _is_str(v: Any) -> TypeGuard[str]:
    return isinstance(v, str) and v.strip() != ""


def _unknown_keys(ctx: _Ctx, where: str, prefix: str, d: dict[str, Any], allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            ctx.err(where, f"{prefix}{k}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _str_list(ctx: _Ctx, where: str, fld: str, v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list) or not all(_is_str(x) for x in v):
        ctx.err(where, fld, "must be a list of non-empty strings")
        return ()
    return tuple(v)


def _date(ctx: _Ctx, where: str, fld: str, v: Any) -> _dt.date | None:
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    if isinstance(v, str):
        try:
            return _dt.date.fromisoformat(v)
        except ValueError:
            pass
    ctx.err(where, fld, f"must be a date YYYY-MM-DD, got {v!r}")
    return None


def validate(data: Any, source: str = "<cmdb>") -> Cmdb:
    """Validate the mapping under ``cmdb:``; raise :class:`CmdbError` listing every problem."""
    ctx = _Ctx(source)
    if not isinstance(data, dict):
        raise CmdbError([f"{source}: cmdb: must be a mapping with version, domain, clients and hosts"])
    _unknown_keys(ctx, "", "cmdb.", data, TOP_KEYS)
    version = data.get("version")
    if version is None:
        ctx.err("", "cmdb.version", "missing (expected 1)")
    elif version != SCHEMA_VERSION:
        ctx.err("", "cmdb.version", f"unsupported schema version {version!r} (expected {SCHEMA_VERSION})")
    domain = data.get("domain")
    if not _is_str(domain):
        ctx.err("", "cmdb.domain", "missing or not a string")
        domain = ""
    elif not DOMAIN_RE.match(domain):
        ctx.err("", "cmdb.domain", f"{domain!r} is not a valid DNS domain")

    clients: dict[str, Client] = {}
    raw_clients = data.get("clients")
    if raw_clients is None:
        ctx.err("", "cmdb.clients", "missing (a mapping of client id -> {name, contacts})")
        raw_clients = {}
    elif not isinstance(raw_clients, dict):
        ctx.err("", "cmdb.clients", "must be a mapping of client id -> {name, contacts}")
        raw_clients = {}
    for cid, c in raw_clients.items():
        where = f"client {cid}"
        if not isinstance(cid, str) or not CLIENT_ID_RE.match(cid):
            ctx.err(where, "id", f"{cid!r} does not match {CLIENT_ID_RE.pattern}")
            continue
        if not isinstance(c, dict):
            ctx.err(where, "client", "must be a mapping with name and contacts")
            continue
        _unknown_keys(ctx, where, "", c, CLIENT_KEYS)
        name = c.get("name")
        if not _is_str(name):
            ctx.err(where, "name", "missing or not a string")
            name = cid
        contacts = _str_list(ctx, where, "contacts", c.get("contacts", []))
        for addr in contacts:
            if "@" not in addr:
                ctx.err(where, "contacts", f"{addr!r} is not an e-mail address")
        clients[cid] = Client(cid, str(name), contacts)

    raw_hosts = data.get("hosts")
    if raw_hosts is None:
        ctx.err("", "cmdb.hosts", "missing (a mapping of inventory hostname -> host)")
        raw_hosts = {}
    elif not isinstance(raw_hosts, dict):
        ctx.err("", "cmdb.hosts", "must be a mapping of inventory hostname -> host")
        raw_hosts = {}
    host_names = {str(n) for n in raw_hosts}
    addresses: dict[str, str] = {}
    hosts: dict[str, Host] = {}
    for hname, h in raw_hosts.items():
        hname = str(hname)
        where = f"host {hname}"
        if not HOST_NAME_RE.match(hname):
            ctx.err(where, "name", f"{hname!r} is not a valid inventory hostname")
        if not isinstance(h, dict):
            ctx.err(where, "host", "must be a mapping (service, address, clients, ...)")
            continue
        _unknown_keys(ctx, where, "", h, HOST_KEYS)
        service = h.get("service")
        if service is None:
            ctx.err(where, "service", f"missing (one of {', '.join(SERVICE_CLASSES)})")
        elif service not in SERVICE_CLASSES:
            ctx.err(where, "service", f"unknown service class {service!r} (one of {', '.join(SERVICE_CLASSES)})")
        address = h.get("address")
        if not _is_str(address):
            ctx.err(where, "address", "missing or not a string (becomes ansible_host)")
            address = ""
        elif address in addresses:
            ctx.err(where, "address", f"{address} is also the address of host {addresses[address]}")
        else:
            addresses[address] = hname
        os_ = h.get("os")
        if os_ is not None and not _is_str(os_):
            ctx.err(where, "os", "must be a string such as debian-12")
        public = h.get("public", False)
        if not isinstance(public, bool):
            ctx.err(where, "public", f"must be true or false, got {public!r}")
            public = False
        hvars = h.get("vars") or {}
        if not isinstance(hvars, dict):
            ctx.err(where, "vars", "must be a mapping of extra hostvars")
            hvars = {}
        for k in hvars:
            if k in RESERVED_VARS:
                ctx.err(where, f"vars.{k}", "is set by the CMDB plugin and cannot be overridden here")
        hclients = _str_list(ctx, where, "clients", h.get("clients", []))
        for cid in hclients:
            if cid not in clients and cid not in raw_clients:
                ctx.err(where, "clients", f"unknown client id {cid!r} (not under cmdb.clients)")
        if len(set(hclients)) != len(hclients):
            ctx.err(where, "clients", "lists a client more than once")

        sites: list[Site] = []
        raw_sites = h.get("sites") or []
        if not isinstance(raw_sites, list):
            ctx.err(where, "sites", "must be a list")
            raw_sites = []
        site_names: set[str] = set()
        for i, s in enumerate(raw_sites):
            f = f"sites[{i}]"
            if not isinstance(s, dict):
                ctx.err(where, f, "must be a mapping")
                continue
            sname = s.get("name")
            if _is_str(sname):
                f = f"sites[{i}] ({sname})"
            _unknown_keys(ctx, where, f + ".", s, SITE_KEYS)
            ok = True
            for req in ("name", "client", "domain", "docroot"):
                if not _is_str(s.get(req)):
                    ctx.err(where, f"{f}.{req}", "missing or not a string")
                    ok = False
            if _is_str(sname):
                if not SITE_NAME_RE.match(sname):
                    ctx.err(where, f"{f}.name", "may hold only letters, digits, '.', '_' and '-'")
                if sname in site_names:
                    ctx.err(where, f"{f}.name", "duplicate site name on this host")
                site_names.add(sname)
            sclient = s.get("client")
            if _is_str(sclient):
                if sclient not in raw_clients:
                    ctx.err(where, f"{f}.client", f"unknown client id {sclient!r} (not under cmdb.clients)")
                elif sclient not in hclients:
                    ctx.err(where, f"{f}.client", f"client {sclient!r} is not listed in the host's clients")
            sdomain = s.get("domain")
            if _is_str(sdomain) and not DOMAIN_RE.match(sdomain):
                ctx.err(where, f"{f}.domain", f"{sdomain!r} is not a valid DNS name")
            aliases = _str_list(ctx, where, f"{f}.aliases", s.get("aliases", []))
            docroot = s.get("docroot")
            if _is_str(docroot) and not str(docroot).startswith("/"):
                ctx.err(where, f"{f}.docroot", f"{docroot!r} must be an absolute path")
                ok = False
            app = s.get("app")
            if app is not None and not _is_str(app):
                ctx.err(where, f"{f}.app", "must be a string")
                app = None
            db: SiteDb | None = None
            raw_db = s.get("db")
            if raw_db is not None:
                if not isinstance(raw_db, dict):
                    ctx.err(where, f"{f}.db", "must be a mapping with engine, name, server")
                else:
                    _unknown_keys(ctx, where, f + ".db.", raw_db, DB_KEYS)
                    engine, dbname, server = raw_db.get("engine"), raw_db.get("name"), raw_db.get("server")
                    if engine not in DB_ENGINES:
                        ctx.err(where, f"{f}.db.engine", f"{engine!r} is not one of {', '.join(DB_ENGINES)}")
                    if not _is_str(dbname):
                        ctx.err(where, f"{f}.db.name", "missing or not a string")
                    if not _is_str(server):
                        ctx.err(where, f"{f}.db.server", "missing or not a string")
                    elif server not in host_names:
                        ctx.err(where, f"{f}.db.server", f"{server!r} is not a host of this CMDB")
                    if engine in DB_ENGINES and _is_str(dbname) and _is_str(server):
                        db = SiteDb(str(engine), str(dbname), str(server))
            if ok:
                sites.append(Site(str(sname), str(sclient), str(sdomain), str(docroot).rstrip("/") or "/",
                                  aliases, app, db))

        licences: list[Licence] = []
        raw_lic = h.get("licences") or []
        if not isinstance(raw_lic, list):
            ctx.err(where, "licences", "must be a list")
            raw_lic = []
        for i, lic in enumerate(raw_lic):
            f = f"licences[{i}]"
            if not isinstance(lic, dict):
                ctx.err(where, f, "must be a mapping")
                continue
            _unknown_keys(ctx, where, f + ".", lic, LICENCE_KEYS)
            product, kind = lic.get("product"), lic.get("kind")
            if not _is_str(product):
                ctx.err(where, f"{f}.product", "missing or not a string")
            if kind not in LICENCE_KINDS:
                ctx.err(where, f"{f}.kind", f"{kind!r} is not one of {', '.join(LICENCE_KINDS)}")
            vendor = lic.get("vendor")
            if vendor is not None and not _is_str(vendor):
                ctx.err(where, f"{f}.vendor", "must be a string")
                vendor = None
            lclient = lic.get("client")
            if lclient is not None and lclient not in raw_clients:
                ctx.err(where, f"{f}.client", f"unknown client id {lclient!r} (not under cmdb.clients)")
            if "expires" not in lic:
                ctx.err(where, f"{f}.expires", "missing (a date YYYY-MM-DD)")
                expires = None
            else:
                expires = _date(ctx, where, f"{f}.expires", lic.get("expires"))
            if _is_str(product) and kind in LICENCE_KINDS and expires is not None:
                licences.append(Licence(str(product), str(kind), expires, vendor, lclient))

        if service in SERVICE_CLASSES and address:
            hosts[hname] = Host(hname, str(service), str(address), hclients, os_ if _is_str(os_) else None,
                                public, dict(hvars), tuple(sites), tuple(licences))

    if ctx.problems:
        raise CmdbError(ctx.problems)
    return Cmdb(source, int(version), str(domain), clients, hosts)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    """``python -m s4.cmdb FILE...``: validate CMDB files, print problems, exit 1 when any."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m s4.cmdb CMDB.yml...", file=sys.stderr)
        return 2
    rc = 0
    for path in args:
        try:
            c = load(path)
        except CmdbError as exc:
            print(str(exc), file=sys.stderr)
            rc = 1
        else:
            print(f"{path}: OK: {len(c.hosts)} hosts ({len(c.in_scope)} in scope), {len(c.clients)} clients")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
