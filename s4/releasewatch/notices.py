"""Client notices: one e-mail per client covering every announcement of theirs still to deliver."""

from __future__ import annotations

import datetime as _dt
import hashlib
import shlex
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from s4.releasewatch.site import SiteConfig, _env, notice_file

# products a POC profile can pin (s4/data/poc_profiles/*.yml `provides`); others follow the profile
POC_VERSION_PRODUCTS = ("php", "mariadb", "postgresql")


def _where(f: dict[str, Any]) -> str:
    if f.get("site"):
        return f"site {f['site']}" + (f" ({f['domain']})" if f.get("domain") else "") + f" on {f['host']}"
    sites = sorted({s.get("site") for s in f.get("affected_sites") or [] if s.get("site")})
    return f"server {f['host']}" + (f" (serves {', '.join(sites)})" if sites else "")


def _row(f: dict[str, Any]) -> dict[str, Any]:
    return {"where": _where(f), "host": f["host"], "site": f.get("site"), "product": f["product"],
            "version": f.get("version"), "kind": f.get("kind"), "status": f.get("status"),
            "support_end": f.get("support_end"), "responsible": f.get("responsible")}


def poc_commands(items: list[dict[str, Any]]) -> list[str]:
    """The ``poc_provision.yml`` command per host (per site when only site components are concerned)."""
    per_host: dict[str, dict[str, Any]] = {}
    for it in items:
        a = it["a"]
        for f in it["findings"]:
            entry = per_host.setdefault(f["host"], {"sites": set(), "server": False, "versions": {}})
            if f.get("responsible") == "provider":
                entry["server"] = True
            if f.get("site"):
                entry["sites"].add(f["site"])
            if a["product"] in POC_VERSION_PRODUCTS:
                entry["versions"][a["product"]] = a["cycle"]
    cmds = []
    for host in sorted(per_host):
        e = per_host[host]
        targets = [None] if e["server"] or not e["sites"] else sorted(e["sites"])
        for site in targets:
            cmd = f"ansible-playbook playbooks/poc_provision.yml -e s4_poc_source={shlex.quote(host)}"
            if site:
                cmd += f" -e s4_poc_site={shlex.quote(site)}"
            if e["versions"]:
                pins = ", ".join(f'"{k}": "{v}"' for k, v in sorted(e["versions"].items()))
                cmd += " -e " + shlex.quote('{"s4_poc_versions": {' + pins + "}}")
            cmds.append(cmd)
    return cmds


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
        target = a["version"] if a["kind"] == "security" else f"{a['label']} {a['cycle']}"
        items.append({"a": a, "url": site.url("notices/" + notice_file(a["id"])), "findings": fs,
                      "rows": [_row(f) for f in fs], "target": target,
                      "provider": [_row(f) for f in fs if f.get("responsible") == "provider"],
                      "client": [_row(f) for f in fs if f.get("responsible") != "provider"]})
    if len(announcements) == 1:
        subject = f"{site.org} release notice: {announcements[0]['title']}"
    else:
        subject = f"{site.org} release notices: {len(announcements)} new versions for your services"
    ctx = {"client": client, "items": items, "site": site, "subject": subject, "poc_commands": poc_commands(items)}
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
