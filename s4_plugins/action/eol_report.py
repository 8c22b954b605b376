# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.eol_report: builds the fleet EOL report on the controller (no connection, no module
shipped). Reads the CMDB hostvars and cached ``s4_software`` facts of the given in-scope hosts and calls
``s4.report`` (pure Python). Documentation lives in ``plugins/modules/eol_report.py``.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_action import (
    as_of_date,
    check_options,
    host_entries,
    require,
    target_hosts,
)

try:
    from s4 import report as _report
except ImportError as _exc:  # pragma: no cover
    _report = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

_ARGS = {"hosts", "dest", "as_of", "eol_soon_days", "history_db", "history_limit"}


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
        check_options(args, _ARGS)
        require(_report, "eol_report", _IMPORT_ERROR)
        dest = args.get("dest")
        if not dest:
            raise AnsibleActionFail("dest (the report directory) is required")
        hosts = target_hosts(args, task_vars)
        if not hosts:
            raise AnsibleActionFail("no hosts to report on: the inventory has no s4_in_scope hosts "
                                    "(use a smartt.s4.cmdb CMDB inventory, e.g. -i inventories/lab)")
        as_of = as_of_date(args.get("as_of"))
        soon = _int(args, "eol_soon_days", 180)
        limit = _int(args, "history_limit", 12, minimum=1)

        raw = host_entries(hosts, task_vars.get("hostvars") or {})
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
