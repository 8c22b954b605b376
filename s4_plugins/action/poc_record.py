# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.poc_record: reads or records a POC's record in the state store (``s4.state.poc``) on
the controller (no connection, no module shipped). Documentation lives in ``plugins/modules/poc_record.py``.

Thin: option checks here, validation and storage in ``s4.state.poc`` (which refuses bad names and secrets).
"""

from __future__ import annotations

import os
import pwd
import re
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_action import check_options, plain, require

try:
    from s4 import state as _state
    from s4.poc import plan as _plan
    from s4.state import poc as _poc
except ImportError as _exc:  # pragma: no cover
    _state = None
    _IMPORT_ERROR: BaseException | None = _exc
else:
    _IMPORT_ERROR = None

_ARGS = {"name", "state", "state_url", "step", "outcome", "started_at", "client", "vmid", "node", "source_host",
         "sites", "site", "profile", "detail", "secrets"}
_STEP_ARGS = {"step", "outcome", "started_at", "client", "vmid", "node", "source_host", "sites", "site", "profile",
              "detail", "secrets"}
_JOB_VARS = ("awx_job_id", "tower_job_id")
_USER_VARS = ("awx_user_name", "tower_user_name")


def operator(task_vars: dict[str, Any]) -> str | None:
    """Who ran the job: AWX's launching user (awx_user_name), else the controller's login name."""
    for var in _USER_VARS:
        if task_vars.get(var):
            return str(task_vars[var])
    name = os.environ.get("SUDO_USER") or os.environ.get("USER") or os.environ.get("LOGNAME")
    if not name:
        try:
            name = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:  # a container user without a passwd entry (AWX execution environments)
            return None
    return name


def job_id(task_vars: dict[str, Any]) -> str | None:
    """AWX's job id (awx_job_id extra var), else S4_JOB_ID from the environment, else none."""
    for var in _JOB_VARS:
        if task_vars.get(var) not in (None, ""):
            return str(task_vars[var])
    return os.environ.get("S4_JOB_ID") or None


def record_site(record: dict[str, Any] | None) -> str:
    """The site a POC record was built for ('' for a whole-host POC): the one recorded site whose POC name is the
    record's name (names carry the site, or the host for a whole-host POC)."""
    if not record or not record.get("client") or len(record.get("sites") or []) != 1:
        return ""
    site = str(record["sites"][0])
    client = str(record["client"])
    if record.get("name") in (_plan.poc_name(client, site), _plan._legacy_name(client, site)):
        return site
    return ""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        check_options(args, _ARGS)
        require(_state, "poc_record", _IMPORT_ERROR)
        state = args.get("state") or "info"
        if state not in ("info", "step"):
            raise AnsibleActionFail(f"state must be info or step, got {state!r}")
        name = str(args.get("name") or "")
        if not re.fullmatch(r"poc-[a-z0-9-]{1,59}", name):
            raise AnsibleActionFail(f"refused: {name[:70]!r} is not a POC name (poc-<client>-<site>)")
        if state == "info" and set(args) & (_STEP_ARGS - {"site"}):
            raise AnsibleActionFail(f"state=info takes no {', '.join(sorted(set(args) & _STEP_ARGS))}")
        url = args.get("state_url") or None
        try:
            if state == "info":  # a reader: a default SQLite store that does not exist yet holds no POC
                opened = _state.open_store(url, create=False)
                rec = None
                if opened is not None:
                    with opened as store:
                        rec = _poc.get(store, name)
                result.update(changed=False, exists=rec is not None, record=plain(rec) if rec else {},
                              site=record_site(rec), store=_state.display_url(_state.resolve_url(url)))
                return result
            opened = _state.open_store(url)
            assert opened is not None  # create=True
            with opened as store:
                if self._task.check_mode:
                    rec = _poc.get(store, name)
                    result.update(changed=True, record=plain(rec) if rec else {}, store=_state.display_url(store.url),
                                  msg="check mode: step not recorded")
                    return result
                before = _poc.get(store, name)
                sites = args.get("sites")
                if sites is None and args.get("site"):
                    sites = [args["site"]]
                vmid = args.get("vmid")
                rec = _poc.record_step(
                    store, name, str(args.get("step") or ""), outcome=str(args.get("outcome") or "ok"),
                    started_at=args.get("started_at") or _state.now(), operator=operator(task_vars),
                    client=args.get("client") or None, vmid=int(vmid) if vmid not in (None, "") else None,
                    node=args.get("node") or None, source_host=args.get("source_host") or None,
                    sites=list(sites) if sites else None, profile=args.get("profile") or None,
                    job_id=job_id(task_vars), detail=args.get("detail") or None,
                    secrets=[str(s) for s in args.get("secrets") or []])
        except _poc.PocRecordError as exc:
            raise AnsibleActionFail(f"POC record refused: {exc}") from None
        except _state.StateError as exc:
            raise AnsibleActionFail(f"state store: {exc}") from None
        except Exception as exc:  # sqlalchemy errors: never the URL (it may hold a password)
            raise AnsibleActionFail(f"cannot use the state store: {type(exc).__name__}") from None
        # a step is bookkeeping: the task reports a change only when the POC's status changes (a rerun of an
        # idempotent provision records its step and stays changed=0)
        changed = before is None or before.get("status") != rec.get("status")
        result.update(changed=changed, exists=True, record=plain(rec), site=record_site(rec),
                      store=_state.display_url(store.url))
        return result
