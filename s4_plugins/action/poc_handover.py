# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.poc_handover: the client handover notice of a passed POC, on the controller (no
connection, no module shipped). A thin wrapper over ``s4.poc.handover.run``; documentation lives in
``plugins/modules/poc_handover.py``."""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_action import CMDB_HOSTVARS, check_options, plain, require

try:
    from s4.poc import handover as _handover
    from s4.releasewatch.smtp import SmtpConfig, SmtpConfigError
    from s4.state import StateError
except ImportError as _exc:  # pragma: no cover
    _handover = None
    _IMPORT_ERROR: BaseException | None = _exc
else:
    _IMPORT_ERROR = None

display = Display()

_ARGS = {"name", "reports_dir", "state_url", "send", "support", "sender", "org", "smtp"}
# no password: it only comes from $S4_SMTP_PASSWORD, so it is never part of the task's arguments
_SMTP_ARGS = {"host", "port", "security", "username", "timeout", "verify_tls", "ca_file", "allow_plaintext_auth"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        check_options(args, _ARGS)
        require(_handover, "poc_handover", _IMPORT_ERROR)
        name = str(args.get("name") or "")
        if not args.get("reports_dir"):
            raise AnsibleActionFail("reports_dir (the directory of the POC reports) is required")
        try:
            send = boolean(args.get("send", False), strict=True)
        except TypeError:
            raise AnsibleActionFail(f"send must be a boolean, got {args.get('send')!r}") from None
        smtp = None
        if send:
            options = plain(args.get("smtp") or {})
            if not isinstance(options, dict) or set(options) - _SMTP_ARGS:
                raise AnsibleActionFail(f"smtp must be a mapping with keys {', '.join(sorted(_SMTP_ARGS))} (the "
                                        "password only from $S4_SMTP_PASSWORD)")
            try:
                smtp = SmtpConfig.from_options(options)
            except SmtpConfigError as exc:
                raise AnsibleActionFail(str(exc)) from None
        hostvars = {}
        for host, hv in (task_vars.get("hostvars") or {}).items():
            if hasattr(hv, "get") and hv.get("s4_in_scope"):
                hostvars[str(host)] = {k: plain(hv[k]) for k in CMDB_HOSTVARS if k in hv}
        try:
            settings = None
            if args.get("support") or args.get("sender") or args.get("org"):
                domain = next((str(v["s4_domain"]) for v in hostvars.values() if v.get("s4_domain")), "smartt.example")
                settings = _handover.Settings(support=str(args.get("support") or f"support@{domain}"),
                                              sender=str(args.get("sender") or f"s4-notices@{domain}"),
                                              org=str(args.get("org") or "Smartt"), domain=domain)
            out = _handover.run(name, hostvars, _handover.Options(
                reports_dir=Path(str(args["reports_dir"])), state_url=args.get("state_url") or None, send=send,
                smtp=smtp, check=bool(self._task.check_mode), settings=settings))
        except _handover.HandoverError as exc:
            raise AnsibleActionFail(f"POC handover refused: {exc}") from None
        except StateError as exc:
            raise AnsibleActionFail(f"state store: {exc}") from None
        except OSError as exc:
            raise AnsibleActionFail(f"cannot write the handover notice: {type(exc).__name__}: {exc.strerror}") from None
        for w in out["warnings"]:
            display.warning(f"poc_handover: {w}")
        result.update({k: out.get(k) for k in ("poc", "client", "status", "recipients", "sites", "eml", "subject",
                                                "message_id", "sent_at")})
        result["changed"] = bool(out["changed"])
        if out["error"]:
            result.update(failed=True, msg=f"POC handover not sent: {out['error']} (nothing was marked sent; a rerun "
                                           "sends it)")
        return result
