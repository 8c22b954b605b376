"""CMDB model and validation (docs/CMDB.md, schema version 1).

Pure Python: the ``smartt.s4.cmdb`` inventory plugin is a thin wrapper over :func:`load` / :func:`validate`.
Validation collects every problem before failing; each message names the file, the host (when the problem
belongs to one) and the field, e.g.::

    inventories/lab/cmdb.yml: host mvps-acme-01: sites[0].db.server: 'db-09' is not a host of this CMDB
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import yaml

from s4 import names

SCHEMA_VERSION = 1
IN_SCOPE = ("mvps", "shared_hosting", "internal")
OUT_OF_SCOPE = ("unmanaged", "colocation", "connectivity")
SERVICE_CLASSES = IN_SCOPE + OUT_OF_SCOPE
DB_ENGINES = ("mariadb", "mysql", "postgresql")
LICENCE_KINDS = ("licence", "support")

# Names and paths are checked with s4.names (the one owner of those patterns); these are CMDB-only fields.
OS_RE = re.compile(r"^[a-z][a-z0-9]*-[0-9][0-9.]{0,15}$")        # debian-12, ubuntu-22.04, centos-7
VAR_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")        # a hostvar name (no leading '_': role internals)
TEMPLATE_MARKERS = ("{{", "{%", "{#")                            # Jinja: refused in every CMDB string
FREE_TEXT_MAX = 200

TOP_KEYS = {"version", "domain", "clients", "hosts"}
CLIENT_KEYS = {"name", "contacts"}
HOST_KEYS = {"service", "address", "os", "clients", "public", "vars", "sites", "licences"}
SITE_KEYS = {"name", "client", "domain", "aliases", "docroot", "app", "db"}
DB_KEYS = {"engine", "name", "server"}
LICENCE_KEYS = {"product", "kind", "vendor", "client", "expires"}
# hostvars the plugin sets itself; `vars` may not override them
RESERVED_VARS = {
    "s4_service", "s4_in_scope", "s4_clients", "s4_sites", "s4_licences", "s4_public", "s4_os", "s4_domain",
    "ansible_host",
}

# `vars` and the ``allow_vars`` option (docs/CMDB.md, "Host vars"). Connection settings (``ansible_*``) in the
# CMDB are refused unless the file's top-level ``allow_vars`` lists them, and only these may ever be listed: each
# chooses a value (port, login name, timeout), none runs a command, picks an executable, interpreter or connection
# plugin, becomes another user or weakens host key checking. Everything else -- ansible_ssh_common_args,
# ansible_ssh_extra_args, ansible_ssh_args, ansible_scp/sftp_extra_args, ansible_*_executable,
# ansible_*_interpreter, ansible_connection, ansible_become*, ansible_shell_*, ansible_network_os,
# ansible_paramiko_proxy_command, ansible_private_key_file, ansible_host_key_checking, ... -- is refused even
# when listed: such a key in a CMDB means code execution on the controller for whoever can edit the CMDB.
_PORT = "port"
_LOGIN = "login"
_SECONDS = "seconds"
_COUNT = "count"
_BOOL = "bool"
ALLOWABLE_ANSIBLE_VARS: dict[str, str] = {
    "ansible_port": _PORT,
    "ansible_ssh_port": _PORT,
    "ansible_user": _LOGIN,
    "ansible_ssh_user": _LOGIN,
    "ansible_timeout": _SECONDS,
    "ansible_ssh_timeout": _SECONDS,
    "ansible_ssh_retries": _COUNT,
    "ansible_pipelining": _BOOL,
    "ansible_ssh_pipelining": _BOOL,
}
LOGIN_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")             # a POSIX login as ssh's remote user
# ``s4_*`` is the toolkit's own namespace: role defaults and playbook switches (s4_data_migrate_follow_links,
# s4_webstack_pool_system_accounts_allowed, s4_poc_*, ...) that host vars from the inventory would override. The
# CMDB may not set them; ``s4_lab_*`` (the lab's metadata, e.g. s4_lab_container) is the one exception.
TOOLKIT_PREFIX = "s4_"
TOOLKIT_METADATA_PREFIX = "s4_lab_"
# Jinja globals that reach lookup plugins (``pipe`` runs a shell command on the controller): refused in the
# constructable options (compose / groups / keyed_groups) of a CMDB file. ansible-core 2.19's sandbox already
# refuses ``__class__``-style attribute access.
LOOKUP_GLOBALS = ("lookup", "query", "q")


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


def loads(text: str, source: str = "<cmdb>", allow_vars: Iterable[str] | None = None) -> Cmdb:
    """Validate a whole inventory source. ``allow_vars`` defaults to the file's own top-level ``allow_vars``."""
    data = _yaml_load(text, source)
    problems = [
        f"{source}: {_host_label(name)}: (line {line}): duplicate host (defined more than once under cmdb.hosts)"
        for name, line in _host_duplicates(text)
    ]
    if not isinstance(data, dict):
        raise CmdbError(problems + [f"{source}: the file must be a mapping with plugin: smartt.s4.cmdb and cmdb:"])
    if "cmdb" not in data:
        raise CmdbError(problems + [f"{source}: cmdb: missing (the CMDB data sits under the cmdb: key)"])
    if allow_vars is None:
        allow_vars = data.get("allow_vars")
    problems += constructed_problems(data, source, allow_vars)
    try:
        model = validate(data["cmdb"], source, allow_vars)
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
        self.templated: set[str] = set()  # strings already refused for holding Jinja (reported once)

    def err(self, where: str, fld: str, msg: str) -> None:
        prefix = f"{self.source}: {where}: " if where else f"{self.source}: "
        self.problems.append(f"{prefix}{fld}: {msg}")


def _is_str(v: Any) -> TypeGuard[str]:
    return isinstance(v, str) and v.strip() != ""


def _unknown_keys(ctx: _Ctx, where: str, prefix: str, d: dict[str, Any], allowed: set[str]) -> None:
    for k in d:
        if k not in allowed:
            ctx.err(where, f"{prefix}{k}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def _host_label(name: Any) -> str:
    """``host NAME`` for a valid host name, ``host 'NAME'`` (repr: control characters show) otherwise."""
    try:
        return f"host {names.check_host_name(name)}"
    except names.UnsafeName:
        return f"host {name!r}"


def _client_label(cid: Any) -> str:
    try:
        return f"client {names.check_client_id(cid)}"
    except names.UnsafeName:
        return f"client {cid!r}"


def _name(ctx: _Ctx, where: str, fld: str, check: Any, value: Any, what: str) -> bool:
    """Run an ``s4.names.check_*`` on ``value``; report the refusal (once per value) and return whether it passed."""
    try:
        check(value, what)
    except names.UnsafeName as exc:
        if not (isinstance(value, str) and value in ctx.templated):
            ctx.err(where, fld, str(exc))
        return False
    return True


def _free_text(ctx: _Ctx, where: str, fld: str, v: Any) -> bool:
    """Human text (client names, products, vendors): printable, one line, at most FREE_TEXT_MAX characters."""
    if not isinstance(v, str):
        return False
    if len(v) > FREE_TEXT_MAX or any(not ch.isprintable() for ch in v):
        ctx.err(where, fld, f"{v[:60]!r} is refused: at most {FREE_TEXT_MAX} printable characters on one line")
        return False
    return True


def _path_label(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _strings(v: Any, path: tuple[Any, ...] = ()) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every string in ``v`` (mapping keys included) with the path to it."""
    if isinstance(v, str):
        yield path, v
    elif isinstance(v, dict):
        for k, x in v.items():
            if isinstance(k, str):
                yield path + (k,), k
            yield from _strings(x, path + (str(k),))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _strings(x, path + (i,))


def _refuse_templates(ctx: _Ctx, data: dict[str, Any]) -> None:
    """Refuse Jinja markers anywhere in the CMDB data: no CMDB value is ever a template (ansible-core 2.19 does
    not template inventory-plugin data either; this keeps it so whatever consumes the data next)."""
    for path, text in _strings(data):
        if not any(m in text for m in TEMPLATE_MARKERS):
            continue
        ctx.templated.add(text)
        if len(path) >= 2 and path[0] == "hosts":
            where, fld = _host_label(path[1]), _path_label(path[2:]) or "name"
        elif len(path) >= 2 and path[0] == "clients":
            where, fld = _client_label(path[1]), _path_label(path[2:]) or "id"
        else:
            where, fld = "", "cmdb." + _path_label(path)
        ctx.err(where, fld, f"{text[:80]!r} is refused: holds a Jinja marker ({{{{, {{% or {{#}}); CMDB data is "
                            "never a template")


def _json_safe(v: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if v is None or isinstance(v, (str, bool, int, float)):
        return True
    if isinstance(v, list):
        return all(_json_safe(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_safe(x, depth + 1) for k, x in v.items())
    return False


def _allowable_value(kind: str, v: Any) -> str | None:
    """Why ``v`` is not a valid value for an allow-listed connection setting of ``kind`` (None when it is)."""
    if kind in (_PORT, _SECONDS, _COUNT):
        n = v if isinstance(v, int) and not isinstance(v, bool) else None
        if isinstance(v, str) and v.isdigit() and len(v) <= 6:
            n = int(v)
        lo, hi = {_PORT: (1, 65535), _SECONDS: (1, 3600), _COUNT: (0, 100)}[kind]
        if n is None or not lo <= n <= hi:
            return f"must be an integer from {lo} to {hi}, got {v!r}"
    elif kind == _LOGIN:
        if not isinstance(v, str) or not LOGIN_RE.match(v):
            return f"must be a login name ({LOGIN_RE.pattern}), got {v!r}"
    elif kind == _BOOL and not isinstance(v, bool):
        return f"must be true or false, got {v!r}"
    return None


def _allow_list(ctx: _Ctx, allow_vars: Any) -> set[str]:
    if allow_vars is None:
        return set()
    if not isinstance(allow_vars, (list, tuple, set, frozenset)) or not all(isinstance(x, str) for x in allow_vars):
        ctx.err("", "allow_vars", "must be a list of connection setting names such as [ansible_port]")
        return set()
    out: set[str] = set()
    for key in allow_vars:
        if key in ALLOWABLE_ANSIBLE_VARS:
            out.add(key)
        else:
            ctx.err("", "allow_vars", f"{key!r} can never be allowed: only {', '.join(ALLOWABLE_ANSIBLE_VARS)} may "
                                      "be listed (other ansible_* settings run commands, choose executables, "
                                      "interpreters or the connection, or become another user)")
    return out


def _toolkit_setting(name: str) -> bool:
    return name.startswith(TOOLKIT_PREFIX) and not name.startswith(TOOLKIT_METADATA_PREFIX)


def _host_vars(ctx: _Ctx, where: str, hvars: dict[Any, Any], allowed: set[str]) -> dict[str, Any]:
    """The host's ``vars`` that pass (see ALLOWABLE_ANSIBLE_VARS for the rule); every refusal is reported."""
    out: dict[str, Any] = {}
    for k, v in hvars.items():
        if not isinstance(k, str) or not VAR_NAME_RE.match(k):
            if not (isinstance(k, str) and k in ctx.templated):
                ctx.err(where, f"vars.{k!r}", "is not a valid variable name (letters, digits and '_', starting with "
                                              "a letter)")
            continue
        f = f"vars.{k}"
        if k in RESERVED_VARS:
            ctx.err(where, f, "is set by the CMDB plugin and cannot be overridden here")
        elif _toolkit_setting(k):
            ctx.err(where, f, "is refused: s4_* variables are the toolkit's own settings (role defaults, playbook "
                              "switches); set them in group_vars/host_vars or the playbook, not in the CMDB")
        elif k.startswith("ansible_") and k not in ALLOWABLE_ANSIBLE_VARS:
            ctx.err(where, f, "is refused: this connection setting can run commands or choose executables on the "
                              "controller, it is never accepted from the CMDB (not even through allow_vars)")
        elif k.startswith("ansible_") and k not in allowed:
            ctx.err(where, f, f"is refused: connection settings (ansible_*) need the inventory source's allow_vars "
                              f"option to list them (allow_vars: [{k}])")
        elif k.startswith("ansible_") and (why := _allowable_value(ALLOWABLE_ANSIBLE_VARS[k], v)):
            ctx.err(where, f, why)
        elif not _json_safe(v):
            ctx.err(where, f, "must hold only strings, numbers, booleans, lists and mappings with string keys")
        else:
            out[k] = v
    return out


def _expression_problem(expr: Any, template: bool = False) -> str | None:
    """Why a constructable expression (or, with ``template``, a template string) is refused; None when it is not.

    Refused: a call or reference to a lookup (``lookup``/``query``/``q``), Jinja markers inside an expression
    (a string literal holding ``{{``), and text that does not parse.
    """
    if expr is None or isinstance(expr, (bool, int, float)):
        return None
    if not isinstance(expr, str):
        return f"must be a string expression, got {type(expr).__name__}"
    import jinja2
    from jinja2 import nodes

    if not template and any(m in expr for m in TEMPLATE_MARKERS):
        return f"{expr[:80]!r} is refused: an expression may not hold Jinja markers ({{{{, {{% or {{#}})"
    try:
        tree = jinja2.Environment().parse(expr if template else "{{ (" + expr + ") }}")
    except jinja2.TemplateSyntaxError as exc:
        return f"{expr[:80]!r} is not a valid Jinja expression: {exc.message}"
    for node in tree.find_all(nodes.Name):
        if node.name in LOOKUP_GLOBALS:
            return (f"{expr[:80]!r} is refused: uses {node.name}() (lookups run on the controller, e.g. pipe runs "
                    "a shell command); compose/groups/keyed_groups of a CMDB may only use the host's variables")
    return None


def constructed_problems(options: dict[str, Any], source: str = "<cmdb>", allow_vars: Any = None) -> list[str]:
    """Problems of the constructable options of a CMDB file (``compose``, ``groups``, ``keyed_groups``).

    These are templated on the controller by the inventory plugin: no lookups; and ``compose`` may not set a
    variable ``vars`` could not set (reserved names, ``ansible_*`` settings outside ``allow_vars``), or a CMDB
    editor could write ``compose: {ansible_ssh_common_args: "'-oProxyCommand=...'"}``.
    """
    ctx = _Ctx(source)
    allowed = _allow_list(_Ctx(source), allow_vars)  # allow_vars itself is reported by validate()
    compose = options.get("compose")
    if compose is not None and not isinstance(compose, dict):
        ctx.err("", "compose", "must be a mapping of variable name -> expression")
        compose = {}
    for k, expr in (compose or {}).items():
        if not isinstance(k, str) or not VAR_NAME_RE.match(k):
            ctx.err("", f"compose.{k!r}", "is not a valid variable name (letters, digits and '_', starting with a "
                                         "letter)")
        elif k in RESERVED_VARS:
            ctx.err("", f"compose.{k}", "is set by the CMDB plugin and cannot be overridden here")
        elif _toolkit_setting(k):
            ctx.err("", f"compose.{k}", "is refused: s4_* variables are the toolkit's own settings (role defaults, "
                                        "playbook switches), a CMDB may not compose them")
        elif k.startswith("ansible_") and (k not in ALLOWABLE_ANSIBLE_VARS or k not in allowed):
            ctx.err("", f"compose.{k}", "is refused: connection settings (ansible_*) may be composed only when "
                                        "allow_vars lists them, and settings that run commands or choose "
                                        "executables never")
        elif why := _expression_problem(expr):
            ctx.err("", f"compose.{k}", why)
    groups = options.get("groups")
    if groups is not None and not isinstance(groups, dict):
        ctx.err("", "groups", "must be a mapping of group name -> condition")
        groups = {}
    for g, cond in (groups or {}).items():
        if why := _expression_problem(cond):
            ctx.err("", f"groups.{g}", why)
    keyed = options.get("keyed_groups")
    if keyed is not None and not isinstance(keyed, list):
        ctx.err("", "keyed_groups", "must be a list")
        keyed = []
    for i, entry in enumerate(keyed or []):
        if not isinstance(entry, dict):
            continue
        if why := _expression_problem(entry.get("key")):
            ctx.err("", f"keyed_groups[{i}].key", why)
        if why := _expression_problem(entry.get("parent_group"), template=True):
            ctx.err("", f"keyed_groups[{i}].parent_group", why)
    return ctx.problems


def _address(ctx: _Ctx, where: str, v: str) -> bool:
    """An IP address or a DNS name: it becomes ansible_host, an ssh argument (never an option such as -oX=y)."""
    try:
        ipaddress.ip_address(v)
        return True
    except ValueError:
        return _name(ctx, where, "address", names.check_domain, v, "address (an IP address or DNS name)")


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


def validate(data: Any, source: str = "<cmdb>", allow_vars: Iterable[str] | None = None) -> Cmdb:
    """Validate the mapping under ``cmdb:``; raise :class:`CmdbError` listing every problem.

    ``allow_vars``: the connection settings (``ansible_*``) hosts' ``vars`` may hold (the inventory source's
    ``allow_vars`` option); only names of :data:`ALLOWABLE_ANSIBLE_VARS` may be listed.
    """
    ctx = _Ctx(source)
    if not isinstance(data, dict):
        raise CmdbError([f"{source}: cmdb: must be a mapping with version, domain, clients and hosts"])
    allowed = _allow_list(ctx, allow_vars)
    _refuse_templates(ctx, data)
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
    else:
        _name(ctx, "", "cmdb.domain", names.check_domain, domain, "domain")

    clients: dict[str, Client] = {}
    raw_clients = data.get("clients")
    if raw_clients is None:
        ctx.err("", "cmdb.clients", "missing (a mapping of client id -> {name, contacts})")
        raw_clients = {}
    elif not isinstance(raw_clients, dict):
        ctx.err("", "cmdb.clients", "must be a mapping of client id -> {name, contacts}")
        raw_clients = {}
    for cid, c in raw_clients.items():
        if not _name(ctx, _client_label(cid), "id", names.check_client_id, cid, "client id"):
            continue
        where = f"client {cid}"
        if not isinstance(c, dict):
            ctx.err(where, "client", "must be a mapping with name and contacts")
            continue
        _unknown_keys(ctx, where, "", c, CLIENT_KEYS)
        name = c.get("name")
        if not _is_str(name):
            ctx.err(where, "name", "missing or not a string")
            name = cid
        elif not _free_text(ctx, where, "name", name):
            name = cid
        contacts = _str_list(ctx, where, "contacts", c.get("contacts", []))
        bad = [a for a in contacts if not _name(ctx, where, "contacts", names.check_email, a, "contact")]
        clients[cid] = Client(cid, str(name), tuple(a for a in contacts if a not in bad))

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
        where = _host_label(hname)
        host_ok = _name(ctx, where, "name", names.check_host_name, hname, "inventory hostname")
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
        elif not _address(ctx, where, address):
            host_ok = False
        elif address in addresses:
            ctx.err(where, "address", f"{address} is also the address of host {addresses[address]}")
        else:
            addresses[address] = hname
        os_ = h.get("os")
        if os_ is not None and not (isinstance(os_, str) and OS_RE.match(os_)):
            if not (isinstance(os_, str) and os_ in ctx.templated):
                ctx.err(where, "os", f"must be a string such as debian-12 ({OS_RE.pattern}), got {os_!r}")
            os_ = None
        public = h.get("public", False)
        if not isinstance(public, bool):
            ctx.err(where, "public", f"must be true or false, got {public!r}")
            public = False
        hvars = h.get("vars") or {}
        if not isinstance(hvars, dict):
            ctx.err(where, "vars", "must be a mapping of extra hostvars")
            hvars = {}
        hvars = _host_vars(ctx, where, hvars, allowed)
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
            name_ok = _is_str(sname) and _name(ctx, where, f"{f}.name", names.check_site_name, sname, "site name")
            if name_ok:
                f = f"sites[{i}] ({sname})"
            _unknown_keys(ctx, where, f + ".", s, SITE_KEYS)
            ok = bool(name_ok)
            for req in ("name", "client", "domain", "docroot"):
                if not _is_str(s.get(req)):
                    ctx.err(where, f"{f}.{req}", "missing or not a string")
                    ok = False
            if name_ok:
                if sname in site_names:
                    ctx.err(where, f"{f}.name", "duplicate site name on this host")
                    ok = False
                site_names.add(str(sname))
            sclient = s.get("client")
            if _is_str(sclient):
                if sclient not in raw_clients:
                    ctx.err(where, f"{f}.client", f"unknown client id {sclient!r} (not under cmdb.clients)")
                    ok = False
                elif sclient not in hclients:
                    ctx.err(where, f"{f}.client", f"client {sclient!r} is not listed in the host's clients")
            sdomain = s.get("domain")
            if _is_str(sdomain) and not _name(ctx, where, f"{f}.domain", names.check_domain, sdomain, "domain"):
                ok = False
            aliases = _str_list(ctx, where, f"{f}.aliases", s.get("aliases", []))
            for alias in aliases:
                if not _name(ctx, where, f"{f}.aliases", names.check_alias, alias, "alias"):
                    ok = False
            docroot = s.get("docroot")
            if _is_str(docroot):
                if not docroot.startswith("/"):
                    ctx.err(where, f"{f}.docroot", f"{docroot!r} must be an absolute path")
                    ok = False
                else:
                    docroot = docroot.rstrip("/")  # a trailing '/' is dropped; '/' itself is refused
                    if not docroot:
                        ctx.err(where, f"{f}.docroot", "'/' is refused: a document root cannot be the whole file "
                                                       "system")
                        ok = False
                    elif not _name(ctx, where, f"{f}.docroot", names.check_abs_path, docroot, "docroot"):
                        ok = False
            app = s.get("app")
            if app is not None and not _is_str(app):
                ctx.err(where, f"{f}.app", "must be a string")
                app = None
            elif app is not None and not _name(ctx, where, f"{f}.app", names.check_app, app, "application"):
                ok = False
            db: SiteDb | None = None
            raw_db = s.get("db")
            if raw_db is not None:
                if not isinstance(raw_db, dict):
                    ctx.err(where, f"{f}.db", "must be a mapping with engine, name, server")
                    ok = False
                else:
                    _unknown_keys(ctx, where, f + ".db.", raw_db, DB_KEYS)
                    engine, dbname, server = raw_db.get("engine"), raw_db.get("name"), raw_db.get("server")
                    if engine not in DB_ENGINES:
                        ctx.err(where, f"{f}.db.engine", f"{engine!r} is not one of {', '.join(DB_ENGINES)}")
                    if not _is_str(dbname):
                        ctx.err(where, f"{f}.db.name", "missing or not a string")
                    elif not _name(ctx, where, f"{f}.db.name", names.check_db_name, dbname, "database name"):
                        dbname = None
                    if not _is_str(server):
                        ctx.err(where, f"{f}.db.server", "missing or not a string")
                    elif server not in host_names:
                        ctx.err(where, f"{f}.db.server", f"{server!r} is not a host of this CMDB")
                    if engine in DB_ENGINES and _is_str(dbname) and _is_str(server):
                        db = SiteDb(str(engine), str(dbname), str(server))
                    else:
                        ok = False
            if ok:
                sites.append(Site(str(sname), str(sclient), str(sdomain), str(docroot), aliases, app, db))

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
            elif not _free_text(ctx, where, f"{f}.product", product):
                product = None
            if kind not in LICENCE_KINDS:
                ctx.err(where, f"{f}.kind", f"{kind!r} is not one of {', '.join(LICENCE_KINDS)}")
            vendor = lic.get("vendor")
            if vendor is not None and not _is_str(vendor):
                ctx.err(where, f"{f}.vendor", "must be a string")
                vendor = None
            elif vendor is not None and not _free_text(ctx, where, f"{f}.vendor", vendor):
                vendor = None
            lclient = lic.get("client")
            if lclient is not None and not (isinstance(lclient, str) and lclient in raw_clients):
                ctx.err(where, f"{f}.client", f"unknown client id {lclient!r} (not under cmdb.clients)")
            if "expires" not in lic:
                ctx.err(where, f"{f}.expires", "missing (a date YYYY-MM-DD)")
                expires = None
            else:
                expires = _date(ctx, where, f"{f}.expires", lic.get("expires"))
            if _is_str(product) and kind in LICENCE_KINDS and expires is not None:
                licences.append(Licence(str(product), str(kind), expires, vendor, lclient))

        if host_ok and service in SERVICE_CLASSES and address:
            hosts[hname] = Host(hname, str(service), str(address), hclients, os_,
                                public, hvars, tuple(sites), tuple(licences))

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
