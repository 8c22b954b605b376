"""Client handover of a passed POC: the notice to the client's contacts (docs/POC.md, "Client handover").

From the POC's record in the state store (``s4.state.poc``), its report (``reports/poc/<name>/report.json``,
``s4.poc.report``) and the CMDB (the source host's sites and clients), :func:`notice_data` builds what the client is
told: the preview names and the hosts-file lines (``s4.poc.plan.hosts_lines``), what changed (software versions
before -> after, application upgrades, the declared configuration changes), what to test per site (its URLs and the
application's key pages), how to accept the go-live or ask for changes (a reply to the operator's support address;
no operator command: the client does not run Ansible) and how to obtain credentials (never the credentials).

:func:`run` renders it with the release watch's e-mail look (``s4/releasewatch/templates``: plain text + HTML
alternative) and delivers it the release watch's way: a draft ``.eml`` next to the report (dry run, the default) or
SMTP (``s4.releasewatch.smtp``). The notice is recorded in the state store (table ``poc_handovers``, keyed by a
digest of what it says), so a rerun neither rewrites nor resends it (``changed`` false); a POC whose content changed
(new address, other versions) gets a new notice.

Tenant isolation: only the POC's own client's contacts receive it and only that client's sites are in it (a site of
the record that the CMDB gives to another client is refused). Every CMDB value is checked against ``s4.names`` and
every contact must be a plain address (no display name, no line break: no header injection); headers are built
with the ``email`` package. Only chosen report fields are used (never the access section, where credentials could
be), and every text taken from the report goes through ``s4.redact``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import json
import re
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from s4 import names
from s4.poc import plan as _plan
from s4.redact import redact_text

REPORT_FILE = "report.json"
EML_FILE = "handover.eml"
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+:~_-]{0,63}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PRODUCT_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
PRODUCT_LABELS = {"php": "PHP", "mariadb": "MariaDB", "mysql": "MySQL", "postgresql": "PostgreSQL",
                  "nginx": "nginx", "apache-http-server": "Apache HTTP Server", "debian": "Debian",
                  "wordpress": "WordPress", "roundcube": "Roundcube"}
CREDENTIALS_CHANGE = "@db-credentials"
DB_CREDENTIALS_TEXT = ("the database password in your application's configuration (the POC has its own database "
                       "accounts with new passwords)")

#: the pages a client should try per kind of application (path, what to check); ``None``: pages of their own
APP_PAGES: dict[str, list[tuple[str | None, str]]] = {
    "wordpress": [
        ("/", "the home page, a few posts and pages, images and the search"),
        ("/wp-login.php", "log in with your usual WordPress account"),
        ("/wp-admin/", "the dashboard: plugins, themes and a test edit (changes stay on the POC)"),
        ("/wp-json/", "the REST API answers (the editor and many plugins use it)"),
    ],
    "roundcube": [
        ("/", "the login page; log in with a mailbox account (mail itself stays on your live mail server)"),
        (None, "open a few messages and folders, the address book and the settings"),
    ],
    "laravel": [
        ("/", "the home page"),
        ("/login", "log in, if your application has user accounts"),
        (None, "the pages that read and write your database: forms, search, orders, uploads"),
    ],
    "drupal": [
        ("/", "the home page and a few content pages"),
        ("/user/login", "log in with your usual Drupal account"),
        ("/admin/reports/status", "the status report (as an administrator)"),
    ],
    "joomla": [
        ("/", "the home page and a few articles"),
        ("/administrator/", "log in to the administrator area"),
    ],
}
GENERIC_PAGES: list[tuple[str | None, str]] = [
    ("/", "the home page"),
    (None, "the pages that read and write your database: forms, search, log-in, uploads"),
]


class HandoverError(ValueError):
    """The handover cannot be built or is refused (no passed POC, bad CMDB value, another client's site ...)."""


@dataclass(frozen=True)
class Settings:
    """Who the notice comes from and where replies go (the operator's configuration)."""

    support: str                        # the operator's support address: replies, go-live acceptance, credentials
    sender: str                         # From address
    org: str = "Smartt"
    domain: str = "smartt.example"      # right-hand side of the Message-ID

    def __post_init__(self) -> None:
        for what, value in (("support address", self.support), ("sender address", self.sender)):
            try:
                names.check_email(value, what)
            except names.UnsafeName as exc:
                raise HandoverError(str(exc)) from None
        try:
            names.check_domain(self.domain, "domain")
        except names.UnsafeName as exc:
            raise HandoverError(str(exc)) from None
        if _CONTROL_RE.search(self.org) or not self.org.strip() or len(self.org) > 100:
            raise HandoverError("organisation name must be one line of at most 100 characters")


def _clean(text: Any, limit: int = 400) -> str:
    """Report text for the notice: one line, credentials redacted, bounded."""
    out = _CONTROL_RE.sub(" ", redact_text(str(text if text is not None else ""))).strip()
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


def _version(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    return text if _VERSION_RE.match(text) else "unknown"


def product_label(product: str) -> str:
    """The product's display name: the catalog's label (``s4/data/catalog/products/<id>.json``), else a known one,
    else the id."""
    if product in PRODUCT_LABELS:
        return PRODUCT_LABELS[product]
    if _PRODUCT_RE.match(product):
        from s4.lifecycle.catalog import default_catalog_path

        try:
            data = json.loads((default_catalog_path() / "products" / f"{product}.json").read_text(encoding="utf-8"))
            label = str(data.get("label") or "")
            if label and not _CONTROL_RE.search(label) and len(label) <= 80:
                return label
        except (OSError, ValueError, AttributeError):
            pass
    return product


def _check(check: Any, value: Any, where: str, what: str) -> str:
    try:
        return str(check(value, what))
    except names.UnsafeName as exc:
        raise HandoverError(f"{where}: {exc}; no notice was written or sent") from None


def client_contacts(source_hostvars: Mapping[str, Any], client_id: str, source: str) -> tuple[str, list[str]]:
    """(name, contacts) of ``client_id`` from the source host's CMDB clients. Every contact must be a plain address:
    a contact with a display name, a line break or a second header (``\\r\\nBcc: ...``) refuses the handover."""
    for c in source_hostvars.get("s4_clients") or []:
        if not isinstance(c, Mapping) or c.get("id") != client_id:
            continue
        where = f"CMDB client {client_id}"
        name = str(c.get("name") or client_id)
        if _CONTROL_RE.search(name) or len(name) > 200:
            raise HandoverError(f"{where}: the client's name is not one line of text; no notice was written or sent")
        contacts = c.get("contacts") or []
        if not isinstance(contacts, list):
            raise HandoverError(f"{where}: contacts must be a list of addresses; no notice was written or sent")
        out = [_check(names.check_email, a, where, "contact") for a in contacts]
        return name, list(dict.fromkeys(out))
    raise HandoverError(f"client {client_id} of the POC is not a client of CMDB host {source}; no notice was written "
                        "or sent")


def _sites(record: Mapping[str, Any], source_hostvars: Mapping[str, Any], client: str,
           source: str) -> list[dict[str, Any]]:
    """The POC's sites as the CMDB describes them, each checked (names) and each of the POC's own client."""
    by_name = {s.get("name"): s for s in source_hostvars.get("s4_sites") or [] if isinstance(s, Mapping)}
    out = []
    for site_name in record.get("sites") or []:
        s = by_name.get(site_name)
        if s is None:
            raise HandoverError(f"site {site_name} of the POC is no longer a site of CMDB host {source}: provision "
                                "the POC again; no notice was written or sent")
        where = f"CMDB host {source}, site {site_name}"
        owner = _check(names.check_client_id, s.get("client"), where, "client")
        if owner != client:
            raise HandoverError(f"{where}: belongs to client {owner}, not to the POC's client {client} (tenant "
                                "isolation); no notice was written or sent")
        domain = _check(names.check_domain, s.get("domain"), where, "domain")
        aliases = [_check(names.check_alias, a, where, "alias") for a in s.get("aliases") or []]
        app = _check(names.check_app, s["app"], where, "app") if s.get("app") else None
        out.append({"name": _check(names.check_site_name, site_name, where, "site name"), "client": owner,
                    "domain": domain, "aliases": aliases, "app": app})
    if not out:
        raise HandoverError("the POC's record names no site; no notice was written or sent")
    return out


def notice_data(record: Mapping[str, Any], report: Mapping[str, Any], source_hostvars: Mapping[str, Any], *,
                support: str) -> dict[str, Any]:
    """What the handover notice says (JSON-safe, deterministic): refuses, with :class:`HandoverError`, a POC that
    did not pass, a report of another POC, a CMDB that no longer matches the POC, another client's site, a bad
    contact."""
    name = str(record.get("name") or "")
    if record.get("status") != "provisioned" or record.get("outcome") != "ok":
        raise HandoverError(f"POC {name} has not passed (state store: status {record.get('status')}, last outcome "
                            f"{record.get('outcome')}): a handover follows a passed provision only")
    if report.get("name") != name:
        raise HandoverError(f"the report is of POC {report.get('name')!r}, not of {name}")
    if report.get("status") != "passed":
        raise HandoverError(f"the report of POC {name} says {report.get('status')!r}, not passed: no handover")
    client = _check(names.check_client_id, record.get("client"), f"POC {name}", "client")
    source = _check(names.check_host_name, record.get("source_host"), f"POC {name}", "source host")
    if report.get("client") != client or report.get("source") != source:
        raise HandoverError(f"the report of POC {name} names client {report.get('client')} on {report.get('source')}, "
                            f"the state store {client} on {source}: provision the POC again")
    sites = _sites(record, source_hostvars, client, source)
    site_poc = report.get("scope") == "site"
    if name not in {_plan.poc_name(client, sites[0]["name"] if site_poc else source),
                    _plan._legacy_name(client, sites[0]["name"] if site_poc else source)}:
        raise HandoverError(f"POC name {name} is not the POC of client {client} on {source}: refused")
    domain = _check(names.check_domain, source_hostvars.get("s4_domain"), f"CMDB host {source}", "s4_domain")
    client_name, contacts = client_contacts(source_hostvars, client, source)
    try:
        address = str(ipaddress.ip_address(str((report.get("vm") or {}).get("address"))))
    except ValueError:
        raise HandoverError(f"the report of POC {name} has no valid VM address") from None

    for s in sites:
        s["preview"] = _plan.preview_name(s["name"], domain)
        s["preview_url"] = f"http://{s['preview']}/"
        s["own_urls"] = [f"http://{h}/" for h in [s["domain"], *s["aliases"]] if "*" not in h]
        s["app_label"] = product_label(s["app"]) if s["app"] else "web site"
        s["pages"] = [{"path": p, "url": f"http://{s['preview']}{p}" if p else None, "what": w}
                      for p, w in APP_PAGES.get(s["app"] or "", GENERIC_PAGES)]
    hosts = _plan.hosts_lines({"sites": sites}, address)
    reported = list((report.get("access") or {}).get("hosts_lines") or [])
    if reported and reported != hosts:
        raise HandoverError(f"the CMDB's names of POC {name}'s sites changed since it was provisioned (report: "
                            f"{'; '.join(map(str, reported))[:200]}): provision the POC again so it serves them")

    versions = []
    for row in report.get("versions") or []:
        product = str(row.get("product") or "")
        if not _PRODUCT_RE.match(product):
            continue
        before, after = _version(row.get("before")), _version(row.get("after"))
        if before is None and after is None:
            continue
        verdict = row.get("after_verdict") or {}
        end = verdict.get("support_end")
        versions.append({"product": product, "label": product_label(product), "before": before, "after": after,
                         "changed": before != after,
                         "support_end": str(end) if end and _DATE_RE.match(str(end)) else None})
    apps = []
    for u in (report.get("app_upgrades") or {}).get("sites") or []:
        if u.get("site") not in {s["name"] for s in sites}:
            continue
        apps.append({"site": u["site"], "label": product_label(str(u.get("app") or u.get("package") or "")),
                     "before": _version(u.get("package_before")), "after": _version(u.get("package_after")),
                     "schema_upgraded": u.get("status") == "ran"})
    # declared differences (the integrity gate's "legitimate" list) and the configs whose DB credentials were
    # rewritten: said in the client's words, never with a value
    rewritten = {_clean(p, 300) for p in (report.get("access") or {}).get("rewritten_configs") or []}
    changes = []
    for d in (report.get("integrity") or {}).get("legitimate") or []:
        path = _clean(d.get("path"), 300)
        credentials = path == CREDENTIALS_CHANGE or path in rewritten
        changes.append({"path": None if path == CREDENTIALS_CHANGE else path, "change": _clean(d.get("change"), 20),
                        "what": DB_CREDENTIALS_TEXT if credentials else _clean(d.get("reason"))})
    for path in sorted(rewritten - {c["path"] for c in changes}):
        changes.append({"path": path, "change": "modified", "what": DB_CREDENTIALS_TEXT})
    changes.sort(key=lambda c: (c["path"] or "", c["change"]))
    issues = [{"site": _clean(i.get("site"), 100), "message": _clean(i.get("message")).rstrip("."),
               "action": _sentence(_clean(i.get("action")))}
              for i in report.get("issues") or [] if i.get("site") in {s["name"] for s in sites}]
    profile = report.get("profile") or {}
    return {
        "poc": name,
        "client": {"id": client, "name": client_name},
        "contacts": contacts,
        "source": source,
        "scope": "site" if site_poc else "host",
        "address": address,
        "profile": {"name": _clean(profile.get("name"), 64), "description": _clean(profile.get("description"), 200),
                    "distro": _clean(profile.get("distro"), 64)},
        "sites": sites,
        "hosts_lines": hosts,
        "versions": versions,
        "apps": apps,
        "changes": changes,
        "issues": issues,
        "support": support,
    }


def digest(data: Mapping[str, Any]) -> str:
    """sha256 of what the notice says (its recipients left out: a new contact does not make it a new notice)."""
    body = {k: v for k, v in data.items() if k != "contacts"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def message_id(data: Mapping[str, Any], settings: Settings) -> str:
    return f"<s4-poc-handover.{digest(data)[:24]}@{settings.domain}>"


def build_message(data: Mapping[str, Any], settings: Settings, *, date: _dt.datetime) -> EmailMessage:
    """The notice (plain text + HTML alternative, the release watch's e-mail look). Deterministic: the same data,
    settings and date give the same bytes."""
    from s4.releasewatch.site import SiteConfig, _env

    site = SiteConfig(domain=settings.domain, org=settings.org, poc_contact=settings.support)
    names_ = ", ".join(s["name"] for s in data["sites"])
    subject = f"{settings.org}: your test environment (POC) for {names_} is ready"
    ctx = {"d": data, "site": site, "subject": subject}
    env = _env()
    text = env.get_template("handover.txt.j2").render(**ctx)
    html = env.get_template("handover.html.j2").render(**ctx)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = Address(display_name=f"{settings.org} support", addr_spec=settings.sender)
    msg["To"] = [Address(addr_spec=a) for a in data["contacts"]]
    msg["Reply-To"] = Address(addr_spec=settings.support)
    msg["Date"] = format_datetime(date.astimezone(_dt.UTC))
    msg["Message-ID"] = message_id(data, settings)
    msg["X-S4-Client"] = data["client"]["id"]
    msg["X-S4-Poc"] = data["poc"]
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    msg.set_boundary("=_s4ho_" + hashlib.sha256((text + html).encode()).hexdigest()[:32])
    return msg


# --- one handover run ---------------------------------------------------------------------------------------------


@dataclass
class Options:
    reports_dir: Path = Path("reports/poc")        # the POC's report is <reports_dir>/<name>/report.json
    state_url: str | None = None                    # s4.state.resolve_url (None: S4_STATE_URL / the default)
    send: bool = False
    smtp: Any = None                                # s4.releasewatch.smtp.SmtpConfig when sending
    check: bool = False
    settings: Settings | None = None                # default: support@ / s4-notices@ the CMDB domain
    warnings: list[str] = field(default_factory=list)


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HandoverError(f"no POC report at {path}: run playbooks/poc_provision.yml for this POC first") from None
    except (OSError, ValueError) as exc:
        raise HandoverError(f"cannot read the POC report {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise HandoverError(f"the POC report {path} is not a JSON object")
    return data


def run(name: str, hostvars: Mapping[str, Mapping[str, Any]], opts: Options) -> dict[str, Any]:
    """Hand POC ``name`` over: build the notice, draft it (``<reports_dir>/<name>/handover.eml``) or send it, and
    record it in the state store. Returns a JSON-safe result (``changed``, ``status`` drafted / sent /
    not-notified, ``recipients``, ``eml``, ``error``). Raises :class:`HandoverError` (bad input: nothing written
    or sent) and ``s4.state.StateError``."""
    from s4.filemodes import private_dir
    from s4.releasewatch.site import _write_if_changed
    from s4.releasewatch.smtp import DeliveryError, Sender
    from s4.state import now, open_store
    from s4.state import poc as state_poc

    if not state_poc.POC_NAME_RE.match(str(name or "")):
        raise HandoverError(f"{str(name)[:70]!r} is not a POC name")
    store = open_store(opts.state_url, dry=opts.check, create=not opts.check)
    if store is None:
        raise HandoverError(f"POC {name} has no record in the state store (no store yet)")
    with store:
        record = state_poc.get(store, name)
        if record is None:
            raise HandoverError(f"POC {name} has no record in the state store: provision it first "
                                "(playbooks/poc_provision.yml)")
        source = str(record.get("source_host") or "")
        source_hv = hostvars.get(source)
        if source_hv is None:
            raise HandoverError(f"the POC's source host {source or '?'} is not in the CMDB")
        domain = str(source_hv.get("s4_domain") or "smartt.example")
        settings = opts.settings or Settings(support=f"support@{domain}", sender=f"s4-notices@{domain}",
                                             domain=domain)
        report_path = opts.reports_dir / name / REPORT_FILE
        data = notice_data(record, load_report(report_path), source_hv, support=settings.support)
        result: dict[str, Any] = {"poc": name, "client": data["client"]["id"], "recipients": data["contacts"],
                                  "sites": [s["name"] for s in data["sites"]], "changed": False, "error": None,
                                  "eml": None, "warnings": list(opts.warnings)}
        if not data["contacts"]:
            result.update(status="not-notified", warnings=[*result["warnings"], (
                f"client {data['client']['id']} has no contact address in the CMDB: no handover notice for {name} "
                "(add one and run again)")])
            return result
        key = digest(data)
        row = state_poc.get_handover(store, name, key)
        created = row["created_at"] if row else now()
        msg = build_message(data, settings, date=_dt.datetime.fromisoformat(created.replace("Z", "+00:00")))
        mid = str(msg["Message-ID"])
        result.update(subject=str(msg["Subject"]), message_id=mid, digest=key)
        draft = opts.reports_dir / name / EML_FILE
        if row is not None and row["status"] == "sent":
            result.update(status="sent", sent_at=row["sent_at"])
            return result
        if not opts.send:
            if not opts.check:
                private_dir(draft.parent)
            wrote = _write_if_changed(draft, msg.as_string(), opts.check)
            _row, saved = state_poc.save_handover(store, name, key, client=data["client"]["id"], status="drafted",
                                                  recipients=data["contacts"], message_id=mid, eml=str(draft),
                                                  at=created)
            result.update(status="drafted", eml=str(draft), changed=bool(wrote or saved))
            return result
        if opts.smtp is None:
            raise HandoverError("sending needs the SMTP settings")
        if opts.check:
            result.update(status="would-send", changed=True)
            return result
        try:
            with Sender(opts.smtp) as smtp:
                refused = smtp.send(msg)
        except (DeliveryError, smtplib.SMTPException, OSError) as exc:
            error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: " \
                f"{getattr(exc, 'smtp_error', b'') or exc}"
            state_poc.save_handover(store, name, key, client=data["client"]["id"], status="drafted",
                                    recipients=data["contacts"], message_id=mid,
                                    eml=str(draft) if draft.is_file() else None, error=error)
            result.update(status="failed", error=_clean(error, 300), changed=False)
            return result
        state_poc.save_handover(store, name, key, client=data["client"]["id"], status="sent",
                                recipients=data["contacts"], message_id=mid)
        if draft.is_file():  # the dry run's draft of what was just sent
            draft.unlink()
        if refused:
            result["refused"] = refused
            result["warnings"].append(f"the SMTP server refused {', '.join(refused)}")
        result.update(status="sent", changed=True, sent_at=now())
        return result

