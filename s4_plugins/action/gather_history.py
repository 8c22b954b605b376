# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.gather_history: runs on the controller only (no module is shipped, no connection).

Reads each play host's ``s4_software`` facts from hostvars and appends the run to the gather history of the state
store through ``s4.history`` (pure Python). Documentation lives in ``plugins/modules/gather_history.py``.
"""

from __future__ import annotations

import datetime as _dt
import os

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_action import check_options, plain, require

try:
    from s4 import filemodes as _filemodes
    from s4 import history as _history
    from s4.state import StateError, display_url, resolve_url, sqlite_path
except ImportError as _exc:  # pragma: no cover
    _history = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

display = Display()

_ARGS = {"state_url", "db", "playbook", "hosts", "failed_hosts", "keep_facts_runs", "fact_name"}


def _private_fact_cache() -> None:
    """The jsonfile fact cache (ansible.cfg fact_caching_connection) maps software per host; ansible creates it
    with the umask's modes. Make its directory 0700 and its files 0600 (an existing cache of an older run too)."""
    if C.CACHE_PLUGIN not in ("jsonfile", "ansible.builtin.jsonfile") or not C.CACHE_PLUGIN_CONNECTION:
        return
    cache_dir = os.path.expanduser(str(C.CACHE_PLUGIN_CONNECTION))
    if not os.path.isdir(cache_dir):
        return
    try:
        _filemodes.private_dir(cache_dir)
        for entry in os.scandir(cache_dir):
            if entry.is_file(follow_symlinks=False):
                _filemodes.private_file(entry.path)
    except OSError as exc:
        raise AnsibleActionFail(f"cannot make the fact cache {cache_dir} private (0700): {exc}") from None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        check_options(args, _ARGS)
        require(_history, "gather_history", _IMPORT_ERROR)
        if args.get("db"):
            display.deprecated("smartt.s4.gather_history: 'db' is ignored, the run goes to the state store "
                               "(state_url / s4_state_url / S4_STATE_URL; an old history.sqlite next to the default "
                               "store is imported)", version="1.0.0", collection_name="smartt.s4")
        try:
            url = resolve_url(args.get("state_url") or task_vars.get("s4_state_url") or None)
        except StateError as exc:
            raise AnsibleActionFail(str(exc)) from None
        db = display_url(url)
        store_file = sqlite_path(url)
        fact_name = args.get("fact_name") or "s4_software"
        hosts = list(args.get("hosts") or task_vars.get("ansible_play_hosts_all") or [])
        failed_given = args.get("failed_hosts")
        alive = set(task_vars.get("ansible_play_hosts") or hosts)
        failed = set(failed_given) if failed_given is not None else set(hosts) - alive
        keep = args.get("keep_facts_runs")
        try:
            keep = int(keep) if keep is not None else None
        except (TypeError, ValueError):
            raise AnsibleActionFail(f"keep_facts_runs must be an integer, got {keep!r}") from None

        hostvars = task_vars.get("hostvars") or {}
        results = {}
        gathered = []
        for h in hosts:
            facts = None
            if h not in failed:
                try:
                    hv = hostvars[h]
                    facts = hv.get(fact_name) if hasattr(hv, "get") else None
                    if facts is None:
                        facts = (hv.get("ansible_facts") or {}).get(fact_name)
                except KeyError:
                    facts = None
            if facts is not None:
                facts = plain(facts)
                if facts.get("gathered_at"):
                    gathered.append(str(facts["gathered_at"]))
            results[h] = {"status": "ok" if facts is not None else "failed", "facts": facts}
        if not results:
            raise AnsibleActionFail("no hosts to record (empty play)")
        playbook = args.get("playbook") or os.path.basename(str(task_vars.get("playbook_dir") or "")) or "gather"
        finished = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        started = min(gathered) if gathered else finished
        if self._task.check_mode and store_file is not None and not store_file.exists():
            result.update(changed=True, run_id=None, state_url=db, hosts_failed=sorted(h for h, r in results.items()
                                                                                if r["status"] != "ok"),
                          hosts_ok=sum(1 for r in results.values() if r["status"] == "ok"), changes={},
                          summary=[f"check mode: no state store at {db} yet; every host would be a first run"])
            return result
        if not self._task.check_mode:
            _private_fact_cache()
        try:
            with _history.History(url, dry=bool(self._task.check_mode)) as hist:
                if self._task.check_mode:
                    changes = hist.preview(results)
                    run_id = None
                    summary = [f"check mode: run not recorded in {db}"]
                    for ch in changes.values():
                        summary.extend(ch.lines() if not ch.first_run else [f"{ch.host}: first run"])
                    any_change = any(c.any for c in changes.values())
                else:
                    rr = hist.record_run(results, playbook=playbook, started_at=started, finished_at=finished)
                    if keep:
                        hist.prune_facts(keep)
                    changes, run_id, summary, any_change = rr.changes, rr.run_id, rr.summary(), rr.any_change
        except StateError as exc:
            raise AnsibleActionFail(str(exc)) from None
        except Exception as exc:  # sqlalchemy errors, OSError
            raise AnsibleActionFail(f"cannot write the gather history to {db}: {type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0][:300] if str(exc) else ''}") from None
        result.update(
            changed=any_change,
            run_id=run_id,
            state_url=db,
            hosts_ok=sum(1 for r in results.values() if r["status"] == "ok"),
            hosts_failed=sorted(h for h, r in results.items() if r["status"] != "ok"),
            changes={h: c.to_dict() for h, c in changes.items()},
            summary=summary,
        )
        return result
