"""Who uses what: the latest gather history (state store, docs/STATE.md) joined with the CMDB hostvars (docs/CMDB.md).

The join itself is the EOL report's (``s4.report.model.normalise_hosts`` + ``s4.report.findings.build_findings``):
one finding per component with its host, site, clients, lifecycle status and who must act. This module only adds
"the latest successful facts per host" from the history DB and the match of a finding against an announcement.
Out-of-scope hosts are refused by ``normalise_hosts``; callers pass ``groups['s4_in_scope']`` only.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from s4.releasewatch.policy import Decision
from s4.report.findings import EngineLike, build_findings
from s4.report.model import normalise_hosts
from s4.report.util import version_key


def latest_facts(url: str | os.PathLike[str] | None) -> dict[str, dict[str, Any]] | None:
    """{host: s4_software facts of its latest successful gather run} from the state store at ``url`` (None: the
    default store); None when that store does not exist yet."""
    from s4.history import History

    h = History.existing(url)
    if h is None:
        return None
    with h:
        return h.latest_facts()


@dataclass
class Usage:
    findings: list[dict[str, Any]]
    not_gathered: list[dict[str, Any]]
    clients: dict[str, dict[str, Any]]            # id -> {id, name, contacts}
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)   # name -> {service, sites}

    def contacts(self) -> dict[str, list[str]]:
        return {cid: [str(a) for a in c.get("contacts") or []] for cid, c in self.clients.items()}


def build_usage(hostvars_list: list[dict[str, Any]], engine: EngineLike, as_of: _dt.date, *,
                history: Mapping[str, dict[str, Any]], soon_days: int = 180) -> Usage:
    """Findings of the in-scope hosts: facts from ``history`` ({host: facts}, :func:`latest_facts`) when it has
    them, else the hostvars' own ``s4_software`` / ``ansible_facts.s4_software`` (fact cache). Raises
    ``ReportInputError`` on bad input."""
    raw = []
    for hv in hostvars_list:
        entry = dict(hv)
        name = str(entry.get("inventory_hostname") or entry.get("name") or "")
        if name in history:
            entry["s4_software"] = history[name]
            entry.pop("ansible_facts", None)
        raw.append(entry)
    hosts = normalise_hosts(raw)
    findings, not_gathered = build_findings(hosts, engine, as_of, soon_days)
    clients: dict[str, dict[str, Any]] = {}
    for h in hosts:
        for c in h.clients:
            clients.setdefault(str(c["id"]), {"id": str(c["id"]), "name": c.get("name") or c["id"],
                                              "contacts": list(c.get("contacts") or [])})
    return Usage(findings=findings, not_gathered=not_gathered, clients=clients,
                 hosts={h.name: {"service": h.service, "sites": h.sites} for h in hosts})


def _older_cycle(f: Mapping[str, Any], cycle: str) -> bool:
    target = version_key(cycle)
    have = version_key(f.get("cycle")) or version_key(f.get("version"))[:len(target)]
    return bool(target) and bool(have) and have < target


def matches(decision: Decision, f: Mapping[str, Any]) -> bool:
    """Does finding ``f`` run software this announcement is about (and older than what it announces)?"""
    if f.get("product") != decision.product:
        return False
    if decision.kind == "security":
        return (str(f.get("cycle") or "") == decision.cycle
                and version_key(f.get("version")) < version_key(decision.version))
    return _older_cycle(f, decision.cycle)


def affected_clients(decision: Decision, usage: Usage) -> dict[str, list[dict[str, Any]]]:
    """{client id: findings of theirs that the announcement concerns}, clients sorted."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in usage.findings:
        if not matches(decision, f):
            continue
        for cid in f.get("clients") or []:
            out.setdefault(str(cid), []).append(f)
    return {k: out[k] for k in sorted(out)}
