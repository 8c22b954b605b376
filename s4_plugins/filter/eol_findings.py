# SPDX-License-Identifier: MIT
"""Filter smartt.s4.eol_findings: a thin wrapper over s4.report.build_report for use inside playbooks."""

from __future__ import annotations

DOCUMENTATION = r"""
name: eol_findings
short_description: Fleet EOL findings (or another report section) from hostvars of in-scope hosts
version_added: "0.1.0"
author: S4 Toolkit developers
description:
  - Builds the same model as M(smartt.s4.eol_report) (C(s4.report.build_report)) from a list of hostvars and
    returns one section of it, without writing files - e.g. to notify the clients of EOL components or to gate a
    POC on its findings.
  - Each input item needs C(inventory_hostname), the CMDB hostvars (C(s4_service), C(s4_clients), C(s4_sites),
    C(s4_licences), C(s4_public)) and C(ansible_facts.s4_software) (or C(s4_software)). Out-of-scope hosts are
    refused with an error; hosts without facts are listed in the C(not_gathered) section.
options:
  _input:
    description: Hostvars of in-scope hosts, e.g. C(groups['s4_in_scope'] | map('extract', hostvars) | list).
    type: list
    elements: dict
    required: true
  section:
    description:
      - Which part of the report model (C(s4.report.build_report), the files M(smartt.s4.eol_report) writes) to return.
      - C(unversioned) lists the components found without a version (not judged, no debt), one entry per host,
        site and product with every path it was found at, as the report's "Unversioned" table.
    type: str
    default: findings
    choices: [findings, unversioned, not_gathered, summary, responsible, impact, interop, licences, plans, debt,
              timeline]
  as_of:
    description: Judge as of this date (YYYY-MM-DD); default today (UTC).
    type: str
  eol_soon_days:
    description: Window for C(eol-soon) and expiring licences.
    type: int
    default: 180
  history_db:
    description: Gather history database for the debt trend (section C(debt)).
    type: path
"""

EXAMPLES = r"""
- name: EOL findings the clients must act on
  ansible.builtin.set_fact:
    client_todo: >-
      {{ groups['s4_in_scope'] | map('extract', hostvars) | list
         | smartt.s4.eol_findings(as_of='2026-11-27')
         | selectattr('responsible', 'equalto', 'client') | selectattr('status', 'equalto', 'eol') | list }}

- name: Components found without a version (nothing to judge them by)
  ansible.builtin.debug:
    msg: "{{ groups['s4_in_scope'] | map('extract', hostvars) | list | smartt.s4.eol_findings(section='unversioned') }}"

- name: Interop issues of the estate
  ansible.builtin.debug:
    msg: "{{ groups['s4_in_scope'] | map('extract', hostvars) | list | smartt.s4.eol_findings(section='interop') }}"
"""

RETURN = r"""
_value:
  description: The requested section - for C(findings) a list of findings as documented in
    C(s4/report/README.md) and C(s4/report/findings.schema.json).
  type: raw
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

try:
    from s4 import report as _report
except ImportError as _exc:  # pragma: no cover - the s4 package is installed in the controller venv
    _report = None  # type: ignore[assignment]
    _IMPORT_ERROR: Exception | None = _exc
else:
    _IMPORT_ERROR = None

SECTIONS = ("findings", "unversioned", "not_gathered", "summary", "responsible", "impact", "interop", "licences",
            "plans", "debt", "timeline")
_KEYS = ("inventory_hostname", "s4_service", "s4_in_scope", "s4_public", "s4_clients", "s4_sites", "s4_licences",
         "s4_domain", "s4_software")


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict) or (hasattr(obj, "items") and hasattr(obj, "keys")):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    return str(obj)


def _host(hv: Any) -> dict[str, Any]:
    if not hasattr(hv, "get"):
        raise AnsibleFilterError(f"eol_findings: every item must be a hostvars mapping, got {type(hv).__name__}")
    out = {k: _plain(hv.get(k)) for k in _KEYS if hv.get(k) is not None}
    if "s4_software" not in out:
        facts = hv.get("ansible_facts") or {}
        if hasattr(facts, "get") and facts.get("s4_software") is not None:
            out["s4_software"] = _plain(facts.get("s4_software"))
    return out


def eol_findings(hosts: Any, section: str = "findings", as_of: str | None = None, eol_soon_days: int = 180,
                 history_db: str | None = None) -> Any:
    if _report is None:
        raise AnsibleFilterError(f"eol_findings needs the s4 package of the S4 toolkit: {_IMPORT_ERROR}")
    if section not in SECTIONS:
        raise AnsibleFilterError(f"eol_findings: section must be one of {', '.join(SECTIONS)}, got {section!r}")
    if isinstance(hosts, str | dict) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError("eol_findings: the input must be a list of hostvars")
    raw = [_host(hv) for hv in hosts]
    for h in raw:
        if h.get("s4_in_scope") is False:
            raise AnsibleFilterError(f"eol_findings: refused: {h.get('inventory_hostname')} "
                                     f"({h.get('s4_service')}) is out of the S4 scope")
    try:
        report = _report.build_report(raw, as_of=as_of or None, eol_soon_days=int(eol_soon_days),
                                      history_db=history_db)
    except (_report.ReportInputError, ValueError) as exc:
        raise AnsibleFilterError(f"eol_findings: {exc}") from None
    return report[section]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"eol_findings": eol_findings}
