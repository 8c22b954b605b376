# SPDX-License-Identifier: MIT
"""Shared pieces of the controller-side action plugins (gather_history, eol_report, release_watch).

Private to this collection (controller only, Python 3.11+): option checks, the as-of date, the host list and the
CMDB hostvars + cached facts of those hosts turned into plain Python for the ``s4`` package.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.errors import AnsibleActionFail

# CMDB hostvars the controller-side logic reads (docs/CMDB.md)
CMDB_HOSTVARS = ("s4_service", "s4_in_scope", "s4_public", "s4_clients", "s4_sites", "s4_licences", "s4_domain")


def plain(obj: Any) -> Any:
    """Lazy/tagged Ansible containers -> plain JSON-able Python."""
    if isinstance(obj, dict) or (hasattr(obj, "items") and hasattr(obj, "keys")):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return str(obj)


def check_options(args: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(args) - set(allowed)
    if unknown:
        raise AnsibleActionFail(f"unsupported option(s): {', '.join(sorted(unknown))}")


def require(module: object, plugin: str, error: BaseException | None) -> None:
    """Fail clearly when the ``s4`` package (controller-side logic) cannot be imported."""
    if module is None:
        raise AnsibleActionFail(f"smartt.s4.{plugin} needs the s4 package of the S4 toolkit: {error}")


def as_of_date(value: Any) -> _dt.date:
    """The as-of date option: empty means today (UTC); otherwise YYYY-MM-DD."""
    if value in (None, ""):
        return _dt.datetime.now(_dt.UTC).date()
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise AnsibleActionFail(f"as_of must be a date YYYY-MM-DD, got {value!r}") from None


def target_hosts(args: Mapping[str, Any], task_vars: Mapping[str, Any]) -> list[Any]:
    """The ``hosts`` option, defaulting to the inventory's ``s4_in_scope`` group."""
    hosts = args.get("hosts")
    if hosts is None:
        hosts = (task_vars.get("groups") or {}).get("s4_in_scope") or []
    if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
        raise AnsibleActionFail(f"hosts must be a list of inventory hostnames, got {hosts!r}")
    return list(hosts)


def host_entries(hosts: Iterable[Any], hostvars: Mapping[str, Any]) -> list[dict[str, Any]]:
    """CMDB hostvars + ``s4_software`` facts (hostvar or fact cache, None when absent) of each host.

    Refuses out-of-scope hosts and names hosts the inventory does not have."""
    entries, missing = [], []
    for host in hosts:
        name = str(host)
        try:
            hv = hostvars[name]
        except KeyError:
            missing.append(name)
            continue
        entry: dict[str, Any] = {"inventory_hostname": name}
        for key in CMDB_HOSTVARS:
            if key in hv:
                entry[key] = plain(hv[key])
        if entry.get("s4_in_scope") is False:
            raise AnsibleActionFail(
                f"refused: {name} ({entry.get('s4_service')}) is out of the S4 scope; pass groups['s4_in_scope']")
        facts = hv.get("s4_software") if hasattr(hv, "get") else None
        if facts is None and hasattr(hv, "get"):
            facts = (plain(hv.get("ansible_facts") or {})).get("s4_software")
        entry["s4_software"] = plain(facts) if facts is not None else None
        entries.append(entry)
    if missing:
        raise AnsibleActionFail(f"host(s) not in the inventory: {', '.join(missing)}")
    return entries
