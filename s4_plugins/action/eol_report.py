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
    from s4 import state as _state
    from s4.history import History
    from s4.state import reports as _runs
except ImportError as _exc:  # pragma: no cover
    _report = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

_ARGS = {"hosts", "dest", "as_of", "eol_soon_days", "history_db", "history_limit", "facts_source", "state_url",
         "published"}


def _state_facts(raw: list[dict], url: str) -> int:
    """Put each host's latest snapshot from the state store in place of the fact cache; returns how many hosts
    have one. A store that does not exist yet holds none (every host is then reported as not gathered)."""
    hist = History.existing(url)
    facts: dict = {}
    if hist is not None:
        with hist:
            facts = hist.latest_facts([e["inventory_hostname"] for e in raw])
    for entry in raw:
        entry["s4_software"] = facts.get(entry["inventory_hostname"])
    return len(facts)


def _counts(report: dict) -> dict[str, int]:
    s = report["summary"]
    by_status = {str(k): int(v) for k, v in (s.get("by_status") or {}).items()}
    counts = {"hosts": int(s["hosts_in_scope"]), "hosts_gathered": int(s["hosts_gathered"]),
              "findings": int(s["findings"]), "interop_issues": len(report.get("interop") or [])}
    counts.update({f"status_{k.replace('-', '_')}": v for k, v in by_status.items()})
    for who, n in (s.get("by_responsible") or {}).items():
        counts[f"act_{who}"] = int(n)
    return counts


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

        facts_source = str(args.get("facts_source") or "cache")
        if facts_source not in ("cache", "state"):
            raise AnsibleActionFail(f"facts_source must be cache or state, got {facts_source!r}")
        published = args.get("published") or []
        if isinstance(published, str) or not isinstance(published, (list, tuple)):
            raise AnsibleActionFail("published must be a list of destinations")

        raw = host_entries(hosts, task_vars.get("hostvars") or {})
        run_id = None
        try:
            url = _state.resolve_url(args.get("state_url") or task_vars.get("s4_state_url") or None)
            if facts_source == "state":
                _state_facts(raw, url)
            # the debt trend comes from the gather history in the same store (history_db: another store or file)
            report = _report.build_report(raw, as_of=as_of, eol_soon_days=soon,
                                          history_db=args.get("history_db") or url, history_limit=limit)
            written = _report.write_report(report, dest, check=bool(self._task.check_mode))
            if not self._task.check_mode:
                store = _state.open_store(url)
                assert store is not None  # create=True
                with store:
                    run_id = _runs.record_run(store, "eol_report", counts=_counts(report), as_of=str(report["as_of"]),
                                              destination=", ".join(str(p) for p in published) or str(written["dir"]))
        except _state.StateError as exc:
            raise AnsibleActionFail(f"state store: {exc}") from None
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
            facts_source=facts_source,
            report_run_id=run_id,
            store=_state.display_url(url),
        )
        if self._task.diff and written["changed"]:
            result["diff"] = {"before": "", "after": "\n".join(written["changed"]) + "\n",
                              "after_header": f"{dest}: files written"}
        return result
