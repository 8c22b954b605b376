# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
"""Go-live filters: thin wrappers over ``s4.poc.golive`` (docs/POC.md "Go-live").

* ``poc_golive_plan(plan, source_facts, poc_name, poc_address)`` -> what the switch does on the source
* ``poc_golive_proxy_conf(site, original_text, poc_name, poc_address)`` -> the proxy vhost of one site
* ``poc_golive_served([status, body], php=None)`` -> whether a probe response came from the POC
* ``poc_golive_judge(names, probe_results, front_results)`` -> ``{poc, source, front_failed}`` name lists
* ``poc_golive_drift(names, current, copied)`` -> databases changed since the POC's copy

A switch that cannot be done safely raises ``AnsibleFilterError`` with the reason.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_filter import need
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_filter import plain as _plain

try:
    from s4.poc import golive as _golive

    _IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - the controller's s4 package is missing
    _IMPORT_ERROR = exc


def _need() -> None:
    need(_IMPORT_ERROR)


def poc_golive_plan(plan: Any, source_facts: Any, poc_name: str, poc_address: str) -> dict[str, Any]:
    _need()
    try:
        return _golive.switch_plan(_plain(plan), _plain(source_facts), str(poc_name), str(poc_address))
    except _golive.GoliveError as exc:
        raise AnsibleFilterError(f"go-live refused, nothing was changed: {exc}") from None


def poc_golive_proxy_conf(site: Any, original: str, poc_name: str, poc_address: str) -> str:
    _need()
    return _golive.proxy_conf(_plain(site), str(original or ""), str(poc_name), str(poc_address))


def poc_golive_served(response: Any, php: Any = None) -> bool:
    """``[status, body]`` of a probe request -> whether the POC answered it."""
    _need()
    status, body = list(response)[:2]
    return _golive.served_by_poc(int(status or 0), str(body or ""), None if php in (None, "") else str(php))


def poc_golive_judge(names: Any, probes: Any, fronts: Any) -> dict[str, list[str]]:
    """Names answered by the POC / by the source, names whose front page failed (``s4.poc.golive.judge``)."""
    _need()
    try:
        return _golive.judge([str(n) for n in names], [(r.get("status"), r.get("content")) for r in probes],
                             [r.get("status") for r in fronts])
    except _golive.GoliveError as exc:
        raise AnsibleFilterError(str(exc)) from None


def poc_golive_drift(names: Any, current: Any, copied: Any) -> list[str]:
    _need()
    try:
        return _golive.drift([str(n) for n in names], [c and str(c) for c in current], [v and str(v) for v in copied])
    except _golive.GoliveError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "poc_golive_plan": poc_golive_plan,
            "poc_golive_proxy_conf": poc_golive_proxy_conf,
            "poc_golive_served": poc_golive_served,
            "poc_golive_drift": poc_golive_drift,
            "poc_golive_judge": poc_golive_judge,
        }
