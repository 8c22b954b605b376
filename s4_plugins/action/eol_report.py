# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.eol_report: builds the fleet EOL report on the controller (no connection, no module
shipped). Reads the CMDB hostvars and cached ``s4_software`` facts of the given in-scope hosts and calls
``s4.report`` (pure Python). Documentation lives in ``plugins/modules/eol_report.py``.
"""

from __future__ import annotations

import datetime as _dt

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:
    from s4 import report as _report
except ImportError as _exc:  # pragma: no cover
    _report = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

_ARGS = {"hosts", "dest", "as_of", "eol_soon_days", "history_db", "history_limit"}
_HOSTVARS = ("s4_service", "s4_in_scope", "s4_public", "s4_clients", "s4_sites", "s4_licences", "s4_domain")


def _plain(obj):
    """Lazy/tagged Ansible containers -> plain JSON-able Python."""
    if isinstance(obj, dict) or (hasattr(obj, "items") and hasattr(obj, "keys")):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, (_dt.date, _dt.datetime)):
        return obj.isoformat()
    return str(obj)


def _int(args, name, default, minimum=0):
    value = args.get(name, default)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise AnsibleActionFail(f"{name} must be an integer, got {value!r}") from None
    if value < minimum:
        raise AnsibleActionFail(f"{name} must be >= {minimum}, got {value}")
    return value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        unknown = set(args) - _ARGS
        if unknown:
            raise AnsibleActionFail(f"unsupported option(s): {', '.join(sorted(unknown))}")
        if _report is None:
            raise AnsibleActionFail(f"smartt.s4.eol_report needs the s4 package of the S4 toolkit: {_IMPORT_ERROR}")
        dest = args.get("dest")
        if not dest:
            raise AnsibleActionFail("dest (the report directory) is required")
        hosts = args.get("hosts")
        if hosts is None:
            hosts = (task_vars.get("groups") or {}).get("s4_in_scope") or []
        if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
            raise AnsibleActionFail(f"hosts must be a list of inventory hostnames, got {hosts!r}")
        if not hosts:
            raise AnsibleActionFail("no hosts to report on: the inventory has no s4_in_scope hosts "
                                    "(use a smartt.s4.cmdb CMDB inventory, e.g. -i inventories/lab)")
        as_of = args.get("as_of")
        if as_of in (None, ""):
            as_of = _dt.datetime.now(_dt.UTC).date()
        else:
            try:
                as_of = _dt.date.fromisoformat(str(as_of))
            except ValueError:
                raise AnsibleActionFail(f"as_of must be a date YYYY-MM-DD, got {as_of!r}") from None
        soon = _int(args, "eol_soon_days", 180)
        limit = _int(args, "history_limit", 12, minimum=1)

        hostvars = task_vars.get("hostvars") or {}
        raw = []
        missing = []
        for name in hosts:
            name = str(name)
            try:
                hv = hostvars[name]
            except KeyError:
                missing.append(name)
                continue
            entry = {"inventory_hostname": name}
            for key in _HOSTVARS:
                if key in hv:
                    entry[key] = _plain(hv[key])
            facts = hv.get("s4_software") if hasattr(hv, "get") else None
            if facts is None:
                facts = (_plain(hv.get("ansible_facts") or {}) if hasattr(hv, "get") else {}).get("s4_software")
            entry["s4_software"] = _plain(facts) if facts is not None else None
            if entry.get("s4_in_scope") is False:
                raise AnsibleActionFail(
                    f"refused: {name} ({entry.get('s4_service')}) is out of the S4 scope; pass groups['s4_in_scope']")
            raw.append(entry)
        if missing:
            raise AnsibleActionFail(f"host(s) not in the inventory: {', '.join(missing)}")
        try:
            report = _report.build_report(raw, as_of=as_of, eol_soon_days=soon,
                                          history_db=args.get("history_db") or None, history_limit=limit)
            written = _report.write_report(report, dest, check=bool(self._task.check_mode))
        except ValueError as exc:  # ReportInputError, a catalog error of the lifecycle engine
            raise AnsibleActionFail(str(exc)) from None
        except OSError as exc:
            raise AnsibleActionFail(f"cannot write the report to {dest}: {exc}") from None
        result.update(
            changed=bool(written["changed"] or written["removed"]),
            dest=written["dir"],
            as_of=report["as_of"],
            files=written["files"],
            changed_files=written["changed"],
            removed_files=written["removed"],
            summary=report["summary"],
            not_gathered=report["not_gathered"],
            interop=[i["summary"] for i in report["interop"]],
        )
        if self._task.diff and written["changed"]:
            result["diff"] = {"before": "", "after": "\n".join(written["changed"]) + "\n",
                              "after_header": f"{dest}: files written"}
        return result
