"""Client notices: one e-mail per client covering every announcement of theirs still to deliver.

The notice offers the same target as the EOL report and the POC (one policy: the default POC profile, see
``s4.report.targets``) and never shows an operator command; the operator's copy is :func:`operator_commands`."""

from __future__ import annotations

import datetime as _dt
import hashlib
import shlex
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from s4.releasewatch.site import SiteConfig, _env, notice_file
from s4.report.util import version_key


def _where(f: dict[str, Any], client_id: str) -> str:
    """Where the finding is, in the client's words. A shared server names only this client's own sites: another
    tenant's site names never reach this client's notice."""
    if f.get("site"):
        return f"site {f['site']}" + (f" ({f['domain']})" if f.get("domain") else "") + f" on {f['host']}"
    sites = sorted({s.get("site") for s in f.get("affected_sites") or []
                    if s.get("site") and str(s.get("client")) == client_id})
    return f"server {f['host']}" + (f" (serves {', '.join(sites)})" if sites else "")


def _label(a: dict[str, Any], product: str) -> str:
    return str(a["label"]) if product == a["product"] else product


def _row(f: dict[str, Any], a: dict[str, Any], client_id: str) -> dict[str, Any]:
    """One finding of the announcement, with the target the client is offered.

    A component Smartt manages that the POC builds (the finding's ``poc_target``: what the host's default POC
    profile builds, s4.report.targets; also the EOL report's target when the host's OS must move) is offered that,
    with the announced release named as newer upstream when it is newer; anything else is offered the announced
    release."""
    rec = (f.get("poc_target") or {}) if f.get("responsible") == "provider" else {}
    announced = a["version"] if a["kind"] == "security" else a["cycle"]
    row = {"where": _where(f, client_id), "host": f["host"], "site": f.get("site"), "product": f["product"],
           "version": f.get("version"), "kind": f.get("kind"), "status": f.get("status"),
           "support_end": f.get("support_end"), "responsible": f.get("responsible"),
           "target": f"{a['label']} {announced}", "target_end": None, "profile": None, "newer_upstream": None}
    if rec.get("profile") and rec.get("cycle"):
        row.update(target=f"{_label(a, str(rec.get('product') or f['product']))} {rec['cycle']}",
                   target_end=rec.get("eol"), profile=rec["profile"])
        if rec.get("product") == a["product"] and version_key(announced) > version_key(rec["cycle"]):
            row["newer_upstream"] = f"{a['label']} {announced}"
    return row


def operator_commands(announcements: list[dict[str, Any]],
                      findings_by_announcement: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The operator's copy: the ``poc_provision.yml`` command per host (per site when only site components are
    concerned), with the profile the EOL report's targets name. Never part of what a client receives."""
    per_host: dict[str, dict[str, Any]] = {}
    for a in announcements:
        for f in findings_by_announcement.get(a["id"], []):
            entry = per_host.setdefault(f["host"], {"sites": set(), "server": False, "profile": None})
            if f.get("responsible") == "provider":
                entry["server"] = True
            if f.get("site"):
                entry["sites"].add(f["site"])
            entry["profile"] = entry["profile"] or (f.get("poc_target") or {}).get("profile")
    cmds = []
    for host in sorted(per_host):
        e = per_host[host]
        targets = [None] if e["server"] or not e["sites"] else sorted(e["sites"])
        for site in targets:
            cmd = f"ansible-playbook playbooks/poc_provision.yml -e s4_poc_source={shlex.quote(host)}"
            if site:
                cmd += f" -e s4_poc_site={shlex.quote(site)}"
            if e["profile"]:
                cmd += f" -e s4_poc_profile={shlex.quote(e['profile'])}"
            cmds.append(cmd)
    return cmds


def poc_offers(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the client is offered, per server: the POC profile the findings' POC targets name (else the
    default one) and the stack it builds, in words; no command."""
    from s4.poc import profiles

    per_host: dict[str, dict[str, Any]] = {}
    for it in items:
        for r in it["rows"]:
            e = per_host.setdefault(r["host"], {"host": r["host"], "sites": set(), "profile": None})
            if r.get("site"):
                e["sites"].add(r["site"])
            e["profile"] = e["profile"] or r.get("profile")
    out = []
    for host in sorted(per_host):
        e = per_host[host]
        try:
            prof = profiles.load(e["profile"] or profiles.default_name())
            builds = prof.description or prof.distro
            name = prof.name
        except profiles.ProfileError:
            builds, name = "the recommended versions", None
        out.append({"host": host, "sites": sorted(e["sites"]), "profile": name, "builds": builds})
    return out


def message_id(client_id: str, announcement_ids: list[str], domain: str) -> str:
    digest = hashlib.sha256("\n".join([client_id, *sorted(announcement_ids)]).encode()).hexdigest()[:24]
    return f"<s4-release-watch.{digest}@{domain}>"


def build_notice(client: dict[str, Any], announcements: list[dict[str, Any]],
                 findings_by_announcement: dict[str, list[dict[str, Any]]], site: SiteConfig, sender: str,
                 as_of: _dt.date, recipients: list[str]) -> EmailMessage:
    """The notice for ``client`` (plain text + HTML alternative). Deterministic: same input, same bytes."""
    items = []
    for a in announcements:
        fs = findings_by_announcement.get(a["id"], [])
        rows = [_row(f, a, str(client["id"])) for f in fs]
        items.append({"a": a, "url": site.url("notices/" + notice_file(a["id"])), "findings": fs, "rows": rows,
                      "provider": [r for r in rows if r["responsible"] == "provider"],
                      "client": [r for r in rows if r["responsible"] != "provider"]})
    if len(announcements) == 1:
        subject = f"{site.org} release notice: {announcements[0]['title']}"
    else:
        subject = f"{site.org} release notices: {len(announcements)} new versions for your services"
    ctx = {"client": client, "items": items, "site": site, "subject": subject, "poc_offers": poc_offers(items)}
    env = _env()
    text = env.get_template("email.txt.j2").render(**ctx)
    html = env.get_template("email.html.j2").render(**ctx)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr((site.name, sender))
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(_dt.datetime.combine(as_of, _dt.time(9, 0), tzinfo=_dt.UTC))
    msg["Message-ID"] = message_id(str(client["id"]), [a["id"] for a in announcements], site.domain)
    msg["Reply-To"] = site.poc_contact
    msg["X-S4-Client"] = str(client["id"])
    msg["X-S4-Notices"] = " ".join(a["id"] for a in announcements)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    msg.set_boundary("=_s4rw_" + hashlib.sha256((text + html).encode()).hexdigest()[:32])
    return msg
