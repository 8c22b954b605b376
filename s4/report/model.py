"""Report inputs: the in-scope hosts with their CMDB hostvars and gathered ``s4_software`` facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IN_SCOPE_SERVICES = ("mvps", "shared_hosting", "internal")
STATUSES = ("eol", "eol-soon", "security-only", "supported", "unknown")
FACTS_SCHEMA = 1


class ReportInputError(ValueError):
    """Bad input to the report: every problem is listed, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("EOL report input problem(s):\n  " + "\n  ".join(problems))


@dataclass
class HostInput:
    name: str
    service: str
    public: bool = False
    clients: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    licences: list[dict[str, Any]] = field(default_factory=list)
    domain: str | None = None
    facts: dict[str, Any] | None = None
    not_gathered_reason: str | None = None

    @property
    def client_ids(self) -> list[str]:
        return [str(c["id"]) for c in self.clients]


def _facts_problem(facts: Any) -> str | None:
    if facts is None or facts == {} or facts == "":
        return "no s4_software facts in the fact cache (run playbooks/gather_software.yml)"
    if not isinstance(facts, dict):
        return f"s4_software facts are a {type(facts).__name__}, not a mapping"
    if facts.get("schema") != FACTS_SCHEMA:
        return f"s4_software facts schema {facts.get('schema')!r} is not the supported schema {FACTS_SCHEMA}"
    for key in ("components", "sites"):
        if not isinstance(facts.get(key, []), list):
            return f"s4_software.{key} is not a list"
    return None


def normalise_hosts(raw: Any) -> list[HostInput]:
    """Build :class:`HostInput` objects from hostvars-like dicts.

    Each dict needs ``inventory_hostname`` (or ``name``) and ``s4_service``; it may hold ``s4_public``,
    ``s4_clients``, ``s4_sites``, ``s4_licences``, ``s4_domain`` and the facts as ``ansible_facts.s4_software``
    or ``s4_software``. Out-of-scope hosts are refused: the report never lists them.
    """
    problems: list[str] = []
    hosts: list[HostInput] = []
    seen: set[str] = set()
    if not isinstance(raw, list):
        raise ReportInputError([f"hosts must be a list of hostvars mappings, got {type(raw).__name__}"])
    for i, hv in enumerate(raw):
        if not isinstance(hv, dict):
            problems.append(f"hosts[{i}]: not a mapping")
            continue
        name = hv.get("inventory_hostname") or hv.get("name")
        if not name:
            problems.append(f"hosts[{i}]: no inventory_hostname")
            continue
        name = str(name)
        if name in seen:
            problems.append(f"host {name}: listed twice")
            continue
        seen.add(name)
        service = hv.get("s4_service")
        if service not in IN_SCOPE_SERVICES:
            problems.append(
                f"host {name}: service {service!r} is not in scope of the S4 ({', '.join(IN_SCOPE_SERVICES)}); "
                "pass only groups['s4_in_scope']"
            )
            continue
        for key in ("s4_clients", "s4_sites", "s4_licences"):
            if not isinstance(hv.get(key) or [], list):
                problems.append(f"host {name}: {key} is not a list")
        facts = hv.get("s4_software")
        ansible_facts = hv.get("ansible_facts")
        if facts is None and isinstance(ansible_facts, dict):
            facts = ansible_facts.get("s4_software")
        reason = _facts_problem(facts)
        hosts.append(HostInput(
            name=name,
            service=str(service),
            public=bool(hv.get("s4_public", False)),
            clients=[dict(c) for c in hv.get("s4_clients") or [] if isinstance(c, dict) and c.get("id")],
            sites=[dict(s) for s in hv.get("s4_sites") or [] if isinstance(s, dict)],
            licences=[dict(lic) for lic in hv.get("s4_licences") or [] if isinstance(lic, dict)],
            domain=hv.get("s4_domain"),
            facts=facts if reason is None else None,
            not_gathered_reason=reason,
        ))
    if problems:
        raise ReportInputError(problems)
    return sorted(hosts, key=lambda h: h.name)
