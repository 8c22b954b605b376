"""One release-watch run: decide, record, render the website, build and deliver the client notices.

Steps:
1. releases from the catalog (malformed entries skipped with a warning) -> policy -> decisions as of ``as_of``;
2. decisions not in the store are recorded, each with a delivery row per affected client (from the latest gather
   history joined with the CMDB); clients without a contact address are recorded as ``not-notified``; an
   announcement still ready (within the policy's lookback) also gets rows for clients that appear later
   (a host gathered or onboarded after it was made), never a second row for the same client;
3. the website (index, a notice page per announcement, Atom feed) is written to ``<out_dir>/site``;
4. one notice per client with pending deliveries: sent by SMTP (``send=True``; a delivery is marked ``sent`` only
   once the server accepted it) or written to ``<out_dir>/outbox/<client>.eml`` (dry run, the default: nothing is
   marked sent, so a later real run still sends them). Before sending, the job claims every delivery of the notice
   (``Store.claim``, lease ``claim_lease`` seconds): a notice another job is sending is reported as
   ``sending`` ("being sent by another job") and left to it; the dry run never claims.

``check=True`` decides and renders in memory: the store, the site and the outbox are left untouched.
"""

from __future__ import annotations

import datetime as _dt
import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s4.filemodes import private_dir
from s4.releasewatch.notices import build_notice, operator_commands
from s4.releasewatch.policy import Decision, Policy, decide, load_catalog_releases
from s4.releasewatch.site import SiteConfig, _write_if_changed, write_site
from s4.releasewatch.smtp import DeliveryError, Sender, SmtpConfig
from s4.releasewatch.store import DEFAULT_CLAIM_LEASE, DEFAULT_PATH, Store, new_claim_token, open_copy
from s4.releasewatch.usage import Usage, affected_clients, build_usage, latest_facts
from s4.report.findings import EngineLike
from s4.state import display_url, resolve_url


@dataclass
class Options:
    as_of: _dt.date
    out_dir: Path = Path("reports/release-watch")
    # state store URLs or SQLite paths (s4.state.resolve_url); None: S4_STATE_URL, else the checkout's default
    store_path: str | os.PathLike[str] | None = DEFAULT_PATH
    history_db: str | os.PathLike[str] | None = DEFAULT_PATH
    catalog_dir: Path | None = None
    policy_path: Path | None = None
    site: SiteConfig = field(default_factory=SiteConfig)
    sender: str = "s4-notices@smartt.example"
    send: bool = False
    smtp: SmtpConfig | None = None
    check: bool = False
    soon_days: int = 180
    # seconds a claim on a notice holds before another job may take it over (a job killed while sending)
    claim_lease: int = DEFAULT_CLAIM_LEASE


def _decision_from(a: Mapping[str, Any]) -> Decision:
    def d(v: Any) -> Any:
        if isinstance(v, str) and len(v) == 10 and v[4] == "-":
            return _dt.date.fromisoformat(v)
        return v
    return Decision(id=a["id"], kind=a["kind"], product=a["product"], label=a["label"], cycle=a["cycle"],
                    version=a["version"], released=d(a["released"]), ready_on=d(a["ready_on"]), reason=a["reason"],
                    lts=bool(a.get("lts")), eoas=d(a.get("eoas")), eol=d(a.get("eol")), eoes=d(a.get("eoes")))


def _eml_name(client_id: str) -> str:
    return f"{client_id}.eml"


def run(hostvars_list: list[dict[str, Any]], opts: Options, *, engine: EngineLike | None = None,
        policy: Policy | None = None) -> dict[str, Any]:
    """Run once; returns a JSON-safe result. Raises PolicyError/ReportInputError/FileNotFoundError on bad input
    before anything is written; SMTP trouble is reported in ``result['error']`` (deliveries stay pending)."""
    if engine is None:
        from s4.lifecycle import Engine  # type: ignore[attr-defined,unused-ignore]

        engine = Engine.load_default()
    policy = policy or Policy.load(opts.policy_path)
    releases, warnings = load_catalog_releases(opts.catalog_dir)
    decisions = decide(releases, policy, opts.as_of)
    history = latest_facts(opts.history_db)
    if history is None:
        warnings.append(f"no gather history database at {display_url(resolve_url(opts.history_db))}: hosts fall back to "
                        "cached facts (run playbooks/gather_software.yml)")
    usage: Usage = build_usage(hostvars_list, engine, opts.as_of, history=history or {}, soon_days=opts.soon_days)
    contacts = usage.contacts()

    store = open_copy(opts.store_path) if opts.check else Store(opts.store_path)
    try:
        return _run(store, decisions, usage, contacts, warnings, opts)
    finally:
        store.close()


def _run(store: Store, decisions: list[Decision], usage: Usage, contacts: dict[str, list[str]],
         warnings: list[str], opts: Options) -> dict[str, Any]:
    known = store.announced_ids()
    new = []
    late: list[dict[str, Any]] = []
    for d in decisions:
        aff = affected_clients(d, usage)
        clients = [(cid, contacts.get(cid, [])) for cid in aff]
        if d.id not in known:
            store.record(d, opts.as_of.isoformat(), clients)
            new.append({"id": d.id, "title": d.title, "clients": list(aff)})
            continue
        # still current (within the lookback): clients seen only now (host gathered or onboarded later) get it too
        added = store.add_clients(d.id, clients)
        if added:
            late.append({"id": d.id, "clients": added})
    reopened = store.refresh_contacts(contacts)

    announcements = store.announcements()
    if not opts.check:
        private_dir(opts.out_dir)
    site = write_site(announcements, opts.site, opts.out_dir / "site", opts.as_of, check=opts.check)

    by_id = {a["id"]: a for a in announcements}
    if opts.claim_lease < 1:
        raise ValueError(f"claim_lease must be a positive number of seconds, got {opts.claim_lease!r}")
    pending: dict[str, list[dict[str, Any]]] = {}
    busy: set[str] = set()
    for row in store.open_deliveries(opts.claim_lease):
        pending.setdefault(row["client_id"], []).append(row)
        if row["busy"]:
            busy.add(row["client_id"])
    not_notified = [{"client": r["client_id"], "announcement": r["announcement_id"],
                     "reason": "no contact address in the CMDB"} for r in store.deliveries("not-notified")]

    notices: list[dict[str, Any]] = []
    messages = []
    for cid in sorted(pending):
        client = usage.clients.get(cid)
        ids = [r["announcement_id"] for r in pending[cid]]
        if client is None:
            warnings.append(f"client {cid}: no longer in the CMDB hostvars; {len(ids)} notice(s) left pending")
            notices.append({"client": cid, "announcements": ids, "recipients": [], "status": "pending",
                            "error": "client not in the CMDB"})
            continue
        if cid in busy:  # another job claimed this client's notice and its lease holds: it is sending it
            notices.append({"client": cid, "announcements": ids, "recipients": contacts.get(cid) or [],
                            "status": "sending", "note": "being sent by another job"})
            continue
        anns = [by_id[i] for i in ids]
        findings = {i: affected_clients(_decision_from(by_id[i]), usage).get(cid, []) for i in ids}
        recipients = contacts.get(cid) or []
        msg = build_notice(client, anns, findings, opts.site, opts.sender, opts.as_of, recipients)
        entry: dict[str, Any] = {"client": cid, "announcements": ids, "recipients": recipients, "status": "pending",
                 "subject": str(msg["Subject"]), "message_id": str(msg["Message-ID"]),
                 # the operator's copy: the client's notice offers the POC in words, never a command
                 "poc_commands": operator_commands(anns, findings)}
        notices.append(entry)
        messages.append((entry, msg))

    outbox = opts.out_dir / "outbox"
    eml_changed: list[str] = []
    eml_removed: list[str] = []
    error = None
    sent = 0
    if not opts.send:
        wanted = {_eml_name(cid) for cid in busy}  # a draft of a notice another job is sending: left as it is
        for entry, msg in messages:
            name = _eml_name(entry["client"])
            wanted.add(name)
            entry["status"] = "dry-run"
            entry["eml"] = str(outbox / name)
            if _write_if_changed(outbox / name, msg.as_string(), opts.check):
                eml_changed.append(name)
        if outbox.is_dir():
            for f in sorted(outbox.glob("*.eml")):
                if f.name not in wanted:
                    eml_removed.append(f.name)
                    if not opts.check:
                        f.unlink()
    elif messages and not opts.check:
        if opts.smtp is None:
            raise ValueError("send=True needs the SMTP settings")
        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        token = new_claim_token()
        held: set[str] = set()  # clients whose notice this job claimed

        def claimed(entry: dict[str, Any]) -> bool:
            if entry["client"] in held:
                return True
            if store.claim(entry["client"], entry["announcements"], token, opts.claim_lease):
                held.add(entry["client"])
                return True
            entry.update(status="sending", note="being sent by another job")
            return False

        try:
            with Sender(opts.smtp) as smtp:
                for entry, msg in messages:
                    if not claimed(entry):
                        continue
                    try:
                        refused = smtp.send(msg)
                    except (smtplib.SMTPException, OSError) as exc:
                        reason = f"{type(exc).__name__}: {getattr(exc, 'smtp_error', b'') or exc}"
                        store.mark_failed(entry["client"], entry["announcements"], reason[:300], token)
                        entry.update(status="failed", error=reason[:300])
                        continue
                    if store.mark_sent(entry["client"], entry["announcements"], entry["message_id"], now,
                                       token) < len(entry["announcements"]):
                        warnings.append(f"client {entry['client']}: the claim expired while sending (lease "
                                        f"{opts.claim_lease}s); another job may send this notice again")
                    entry["status"] = "sent"
                    sent += 1
                    draft = outbox / _eml_name(entry["client"])
                    if draft.is_file():  # the dry run's draft of what was just sent
                        draft.unlink()
                        eml_removed.append(draft.name)
                    if refused:
                        entry["refused"] = refused
                        warnings.append(f"client {entry['client']}: server refused {', '.join(refused)}")
        except DeliveryError as exc:
            error = str(exc)
            for entry, _msg in messages:
                # not sent: claim (unless claimed already) to record the error on rows no other job holds
                if entry["status"] == "pending" and claimed(entry):
                    store.mark_failed(entry["client"], entry["announcements"], error[:300], token)
                    entry["error"] = error
        if any(e["status"] == "failed" for e in notices) and error is None:
            failed = [e["client"] for e in notices if e["status"] == "failed"]
            error = f"notice(s) to {', '.join(failed)} not accepted by the SMTP server; they stay pending"

    changed = bool(new or late or reopened or site["changed"] or site["removed"] or eml_changed or eml_removed or sent)
    return {
        "changed": changed,
        "as_of": opts.as_of.isoformat(),
        "check": opts.check,
        "send": opts.send,
        "new_announcements": new,
        "late_clients": late,
        "announcements": [a["id"] for a in announcements],
        "ready": [d.id for d in decisions],
        "site": site,
        "notices": notices,
        "sent": sent,
        "outbox": {"dir": str(outbox), "changed": eml_changed, "removed": eml_removed},
        "not_notified": not_notified,
        "not_gathered": usage.not_gathered,
        "warnings": warnings,
        "error": error,
    }
