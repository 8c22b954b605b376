"""POC records: the current state of every POC and one event per step a job ran on it (docs/STATE.md).

``record_step`` is what poc_provision / poc_golive / poc_teardown call at the end of each step (success or
failure); ``get`` / ``find`` let a later job (another AWX job, another controller) find the POC without the
checkout; ``timesheet`` lists the steps of a client's POCs in a month with their durations (``s4 timesheet``).

Everything stored is validated here (names through ``s4.names``): values come from the CMDB and the Proxmox VM, both
untrusted. No secret is accepted: ``detail`` is redacted and any secret-looking key in ``extra`` is refused.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from s4 import names
from s4.redact import redact_text
from s4.state import schema as S
from s4.state.store import Store, now

#: status of a POC after a successful step
STATUS_AFTER = {"provision": "provisioned", "golive": "live", "rollback": "rolled-back", "teardown": "torn-down"}
_STAMP_COLUMN = {"provisioned": "provisioned_at", "live": "live_at", "rolled-back": "rolled_back_at",
                 "torn-down": "torn_down_at"}
POC_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")   # a Proxmox VM name (DNS label)
OPERATOR_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PROFILE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class PocRecordError(ValueError):
    """A POC record value is refused (bad name, unknown step, secret, timestamps out of order)."""


@dataclass(frozen=True)
class PocStep:
    """One step event as stored (a timesheet line)."""

    poc_name: str
    client: str | None
    step: str
    outcome: str
    status_after: str
    operator: str | None
    started_at: str
    finished_at: str
    duration_s: int
    job_id: str | None
    detail: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ts(value: Any, what: str) -> str:
    text = value.isoformat() if isinstance(value, _dt.datetime) else str(value or "")
    if not _TS_RE.match(text):
        raise PocRecordError(f"{what} must be an ISO-8601 timestamp with a zone, got {text[:40]!r}")
    return _to_utc(text)


def _to_utc(text: str) -> str:
    t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(_dt.UTC).replace(microsecond=0)
    return t.isoformat().replace("+00:00", "Z")


def _parse(ts: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _opt(value: Any, rx: re.Pattern[str], what: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not rx.match(text):
        raise PocRecordError(f"{what} {text[:40]!r} is not allowed")
    return text


def _name(value: Any) -> str:
    text = str(value or "")
    if not POC_NAME_RE.match(text):
        raise PocRecordError(f"POC name {text[:70]!r} is not a VM name (a-z 0-9 -, at most 63)")
    return text


def record_step(store: Store, name: str, step: str, *, outcome: str = "ok", started_at: Any, finished_at: Any = None,
                operator: str | None = None, client: str | None = None, vmid: int | None = None,
                node: str | None = None, source_host: str | None = None, sites: Iterable[str] | None = None,
                profile: str | None = None, job_id: str | None = None, detail: str | None = None,
                secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Record one step (``provision``, ``golive``, ``rollback``, ``teardown``) of POC ``name`` and update its
    record; returns the record. A successful step sets the status (provisioned, live, rolled-back, torn-down) and
    that status' timestamp; a failed or aborted one leaves the status (a first provision that fails: ``failed``).
    Fields given as None keep their stored value. ``detail`` is redacted (``secrets`` are masked too).
    Raises :class:`PocRecordError` on a refused value."""
    name = _name(name)
    if step not in STATUS_AFTER:
        raise PocRecordError(f"unknown POC step {step!r} (one of {', '.join(S.POC_STEPS)})")
    if outcome not in S.POC_OUTCOMES:
        raise PocRecordError(f"unknown outcome {outcome!r} (one of {', '.join(S.POC_OUTCOMES)})")
    started = _ts(started_at, "started_at")
    finished = _ts(finished_at, "finished_at") if finished_at is not None else now()
    duration = int((_parse(finished) - _parse(started)).total_seconds())
    if duration < 0:
        raise PocRecordError(f"finished_at {finished} is before started_at {started}")
    fields: dict[str, Any] = {}
    if client is not None:
        fields["client"] = names.check_client_id(client)
    if vmid is not None:
        if isinstance(vmid, bool) or not str(vmid).isdigit() or not 100 <= int(vmid) <= 999_999_999:
            raise PocRecordError(f"vmid {str(vmid)[:20]!r} is not a Proxmox VM id")
        fields["vmid"] = int(vmid)
    if node is not None:
        fields["node"] = names.check_host_name(node, "Proxmox node")
    if source_host is not None:
        fields["source_host"] = names.check_host_name(source_host, "source host")
    if sites is not None:
        fields["sites_json"] = json.dumps(sorted({names.check_site_name(s) for s in sites}))
    if profile is not None:
        fields["profile"] = _opt(profile, PROFILE_RE, "profile")
    op = _opt(operator, OPERATOR_RE, "operator")
    job = _opt(job_id, JOB_ID_RE, "job id")
    text = redact_text(str(detail), secrets)[:2000] if detail else None
    stamp = finished
    with store.write() as conn:
        rec = conn.execute(select(S.poc_records).where(S.poc_records.c.name == name)).first()
        status = STATUS_AFTER[step] if outcome == "ok" else (rec.status if rec is not None else "failed")
        values = dict(fields, status=status, updated_at=stamp, outcome=outcome)
        if op is not None:
            values["operator"] = op
        if outcome == "ok":
            values[_STAMP_COLUMN[status]] = finished
        if rec is None:
            conn.execute(insert(S.poc_records).values(name=name, created_at=started, **values))
        else:
            conn.execute(update(S.poc_records).where(S.poc_records.c.name == name).values(**values))
        client_now = conn.execute(select(S.poc_records.c.client).where(S.poc_records.c.name == name)).scalar()
        conn.execute(insert(S.poc_events).values(
            poc_name=name, client=client_now, step=step, outcome=outcome, status_after=status, operator=op,
            started_at=started, finished_at=finished, duration_s=duration, job_id=job, detail=text))
        row = conn.execute(select(S.poc_records).where(S.poc_records.c.name == name)).first()
    assert row is not None
    return _record(row._mapping)


def _record(m: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(m)
    out["sites"] = json.loads(out.pop("sites_json") or "[]")
    return out


def get(store: Store, name: str) -> dict[str, Any] | None:
    """The record of POC ``name`` (None when unknown)."""
    if not POC_NAME_RE.match(str(name or "")):
        return None
    with store.read() as conn:
        row = conn.execute(select(S.poc_records).where(S.poc_records.c.name == name)).first()
    return _record(row._mapping) if row is not None else None


def find(store: Store, *, client: str | None = None, source_host: str | None = None, vmid: int | None = None,
         status: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
    """POC records matching every given filter, newest first."""
    p = S.poc_records
    q = select(p).order_by(p.c.updated_at.desc(), p.c.name)
    if client is not None:
        q = q.where(p.c.client == client)
    if source_host is not None:
        q = q.where(p.c.source_host == source_host)
    if vmid is not None:
        q = q.where(p.c.vmid == int(vmid))
    if status is not None:
        q = q.where(p.c.status.in_([status] if isinstance(status, str) else list(status)))
    with store.read() as conn:
        return [_record(r._mapping) for r in conn.execute(q)]


def events(store: Store, name: str) -> list[PocStep]:
    """Every step event of POC ``name``, oldest first."""
    e = S.poc_events
    with store.read() as conn:
        rows = conn.execute(select(e).where(e.c.poc_name == name).order_by(e.c.started_at, e.c.id))
        return [_step(r._mapping) for r in rows]


def _step(m: Mapping[Any, Any]) -> PocStep:
    return PocStep(**{k: m[k] for k in PocStep.__dataclass_fields__})


def _month(month: str) -> tuple[str, str]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise PocRecordError(f"month must be YYYY-MM, got {str(month)[:20]!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    nxt = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return f"{y:04d}-{mo:02d}-01T00:00:00Z", f"{nxt[0]:04d}-{nxt[1]:02d}-01T00:00:00Z"


def timesheet(store: Store, client: str, month: str) -> list[PocStep]:
    """The step events of ``client``'s POCs that started in ``month`` (YYYY-MM, UTC), oldest first."""
    client = names.check_client_id(client)
    start, end = _month(month)
    e = S.poc_events
    with store.read() as conn:
        rows = conn.execute(select(e).where(e.c.client == client, e.c.started_at >= start, e.c.started_at < end)
                            .order_by(e.c.started_at, e.c.id))
        return [_step(r._mapping) for r in rows]


def _hm(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


TIMESHEET_FIELDS = ("date", "poc", "step", "operator", "started_at", "finished_at", "duration", "duration_s",
                    "outcome", "job_id")


def timesheet_rows(steps: Iterable[PocStep]) -> list[dict[str, Any]]:
    return [{"date": s.started_at[:10], "poc": s.poc_name, "step": s.step, "operator": s.operator or "",
             "started_at": s.started_at, "finished_at": s.finished_at, "duration": _hm(s.duration_s),
             "duration_s": s.duration_s, "outcome": s.outcome, "job_id": s.job_id or ""} for s in steps]


def timesheet_csv(steps: Iterable[PocStep]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=TIMESHEET_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in timesheet_rows(steps):
        # a value starting with = + - @ would be a formula in a spreadsheet: names are validated, but be explicit
        w.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()})
    return buf.getvalue()


def timesheet_text(client: str, month: str, steps: list[PocStep]) -> str:
    rows = timesheet_rows(steps)
    lines = [f"POC work for client {client}, {month} (UTC)"]
    if not rows:
        lines.append("no POC steps recorded")
        return "\n".join(lines) + "\n"
    lines.append(f"{'date':<10}  {'poc':<34} {'step':<9} {'operator':<16} {'duration':>8}  outcome")
    for r in rows:
        lines.append(f"{r['date']:<10}  {r['poc']:<34} {r['step']:<9} {r['operator']:<16} {r['duration']:>8}  "
                     f"{r['outcome']}")
    total = sum(s.duration_s for s in steps)
    billable = sum(s.duration_s for s in steps if s.outcome == "ok")
    lines.append(f"total {_hm(total)} over {len(rows)} step(s); {_hm(billable)} in successful steps")
    return "\n".join(lines) + "\n"


# --- client handover notices (s4.poc.handover) ----------------------------------------------------------------------

_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
_MESSAGE_ID_RE = re.compile(r"^<[A-Za-z0-9._-]{1,128}@[A-Za-z0-9.-]{1,253}>$")


def _handover_key(name: str, digest: str) -> tuple[str, str]:
    name = _name(name)
    if not _DIGEST_RE.match(str(digest or "")):
        raise PocRecordError("handover digest must be 64 hex digits (sha256)")
    return name, digest


def _recipients(recipients: Iterable[str]) -> str:
    return ",".join(names.check_email(r, "handover recipient") for r in recipients)


def get_handover(store: Store, name: str, digest: str) -> dict[str, Any] | None:
    """The handover notice of POC ``name`` with content ``digest`` (None when none was drafted or sent)."""
    name, digest = _handover_key(name, digest)
    h = S.poc_handovers
    with store.read() as conn:
        row = conn.execute(select(h).where(h.c.poc_name == name, h.c.digest == digest)).first()
    return dict(row._mapping) if row is not None else None


def handovers(store: Store, name: str) -> list[dict[str, Any]]:
    """Every handover notice of POC ``name``, oldest first."""
    h = S.poc_handovers
    with store.read() as conn:
        rows = conn.execute(select(h).where(h.c.poc_name == _name(name)).order_by(h.c.created_at, h.c.id))
        return [dict(r._mapping) for r in rows]


def save_handover(store: Store, name: str, digest: str, *, client: str, status: str, recipients: Iterable[str],
                  message_id: str, eml: str | None = None, error: str | None = None,
                  at: str | None = None) -> tuple[dict[str, Any], bool]:
    """Record the handover notice ``digest`` of POC ``name``: ``status`` ``drafted`` (the dry run wrote ``eml``;
    ``error``: a send that failed, counted in ``attempts``) or ``sent`` (the SMTP server accepted it). A sent notice
    is never changed again. Returns the row and whether anything changed. The POC must have a record."""
    name, digest = _handover_key(name, digest)
    if status not in S.HANDOVER_STATUSES:
        raise PocRecordError(f"unknown handover status {status!r} (one of {', '.join(S.HANDOVER_STATUSES)})")
    client = names.check_client_id(client)
    rcpt = _recipients(recipients)
    if not _MESSAGE_ID_RE.match(str(message_id or "")):
        raise PocRecordError(f"message id {str(message_id)[:80]!r} is not <local@domain>")
    if eml is not None and ("\n" in eml or "\r" in eml or not eml.strip()):
        raise PocRecordError("eml must be a file path")
    stamp = _ts(at, "handover time") if at is not None else now()
    h = S.poc_handovers
    with store.write() as conn:
        rec = conn.execute(select(S.poc_records.c.client).where(S.poc_records.c.name == name)).first()
        if rec is None:
            raise PocRecordError(f"POC {name} has no record in the state store: nothing to hand over")
        if rec.client is not None and rec.client != client:
            raise PocRecordError(f"POC {name} belongs to client {rec.client}, not {client}")
        row = conn.execute(select(h).where(h.c.poc_name == name, h.c.digest == digest)).first()
        values: dict[str, Any] = {"status": status, "recipients": rcpt, "message_id": message_id,
                                  "eml": None if status == "sent" else eml}
        if status == "sent":
            values["sent_at"] = stamp
            values["last_error"] = None
        if error:
            values["last_error"] = redact_text(str(error))[:300]
        if row is None:
            conn.execute(insert(h).values(poc_name=name, client=client, digest=digest, created_at=stamp,
                                          updated_at=stamp, attempts=int(status == "sent" or bool(error)), **values))
            changed = True
        elif row.status == "sent":
            changed = False
        else:
            changed = any(getattr(row, k) != v for k, v in values.items())
            if status == "sent" or error:
                values["attempts"] = h.c.attempts + 1
            if changed:
                conn.execute(update(h).where(h.c.id == row.id).values(updated_at=stamp, **values))
        out = conn.execute(select(h).where(h.c.poc_name == name, h.c.digest == digest)).first()
    assert out is not None
    return dict(out._mapping), changed
