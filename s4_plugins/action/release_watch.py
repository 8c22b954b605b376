# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.release_watch: the release watch on the controller (no connection, no module shipped).

A thin wrapper over ``s4.releasewatch.watch.run`` (pure Python). Documentation: ``plugins/modules/release_watch.py``.
"""

from __future__ import annotations

from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_action import (
    as_of_date,
    check_options,
    host_entries,
    plain,
    require,
    target_hosts,
)

try:
    from s4.releasewatch import watch as _watch
    from s4.releasewatch.policy import PolicyError
    from s4.releasewatch.site import SiteConfig
    from s4.releasewatch.smtp import SmtpConfig, SmtpConfigError
    from s4.report.model import ReportInputError
    from s4.state import StateError, resolve_url
except ImportError as _exc:  # pragma: no cover
    _watch = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

display = Display()

_ARGS = {"hosts", "dest", "as_of", "state_url", "store", "history_db", "catalog_dir", "policy", "base_url", "poc_contact",
         "sender", "send", "smtp", "claim_lease"}
_SMTP_ARGS = {"host", "port", "security", "username", "password", "timeout", "verify_tls", "ca_file",
              "allow_plaintext_auth"}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        check_options(args, _ARGS)
        require(_watch, "release_watch", _IMPORT_ERROR)
        dest = args.get("dest")
        if not dest:
            raise AnsibleActionFail("dest (the output directory) is required")
        hosts = target_hosts(args, task_vars)
        as_of = as_of_date(args.get("as_of"))
        try:
            send = boolean(args.get("send", False), strict=True)
        except TypeError:
            raise AnsibleActionFail(f"send must be a boolean, got {args.get('send')!r}") from None
        lease = args.get("claim_lease", 15)
        try:
            lease = int(lease)
        except (TypeError, ValueError):
            lease = 0
        if isinstance(args.get("claim_lease"), bool) or lease < 1:
            raise AnsibleActionFail(f"claim_lease must be a positive number of minutes, got {args.get('claim_lease')!r}")

        raw = host_entries(hosts, task_vars.get("hostvars") or {})
        domain = next((e["s4_domain"] for e in raw if e.get("s4_domain")), None)
        domain = str(domain or "smartt.example")

        smtp = None
        if send:
            options = plain(args.get("smtp") or {})
            if not isinstance(options, dict) or set(options) - _SMTP_ARGS:
                raise AnsibleActionFail(f"smtp must be a mapping with keys {', '.join(sorted(_SMTP_ARGS))}")
            try:
                smtp = SmtpConfig.from_options(options)
            except SmtpConfigError as exc:
                raise AnsibleActionFail(str(exc)) from None

        site = SiteConfig(base_url=str(args.get("base_url") or f"https://notices.{domain}/"), domain=domain,
                          poc_contact=str(args.get("poc_contact") or f"support@{domain}"))
        if args.get("store") or args.get("history_db"):
            display.deprecated("smartt.s4.release_watch: 'store' and 'history_db' are ignored, decisions and history "
                               "live in the state store (state_url / s4_state_url / S4_STATE_URL; old SQLite files "
                               "next to the default store are imported)", version="1.0.0", collection_name="smartt.s4")
        try:
            url = resolve_url(args.get("state_url") or task_vars.get("s4_state_url") or None)
        except StateError as exc:
            raise AnsibleActionFail(str(exc)) from None
        opts = _watch.Options(
            as_of=as_of, out_dir=Path(dest), store_path=url, history_db=url,
            catalog_dir=Path(args["catalog_dir"]) if args.get("catalog_dir") else None,
            policy_path=Path(args["policy"]) if args.get("policy") else None, site=site,
            sender=str(args.get("sender") or f"s4-notices@{domain}"), send=send, smtp=smtp,
            check=bool(self._task.check_mode), claim_lease=lease * 60)
        try:
            out = _watch.run(raw, opts)
        except (PolicyError, ReportInputError, FileNotFoundError, ValueError, StateError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        except OSError as exc:
            raise AnsibleActionFail(f"cannot write to {dest}: {exc}") from None
        for w in out["warnings"]:
            display.warning(f"release_watch: {w}")
        result.update(
            changed=out["changed"], dest=str(Path(dest)), site_dir=str(Path(dest) / "site"), as_of=out["as_of"],
            send=send, ready=out["ready"], new_announcements=out["new_announcements"], late_clients=out["late_clients"],
            announcements=out["announcements"], site_changed=out["site"]["changed"] + out["site"]["removed"],
            notices=[{k: n.get(k) for k in ("client", "status", "recipients", "announcements", "eml", "error", "note")}
                     for n in out["notices"]],
            sent=out["sent"], not_notified=out["not_notified"], not_gathered=out["not_gathered"],
            warnings_list=out["warnings"],
        )
        if out["error"]:
            result.update(failed=True, msg=f"release watch: {out['error']} (nothing was marked sent for them; "
                                           "a rerun sends them)")
        if self._task.diff and out["changed"]:
            lines = [f"new announcement {a['id']}" for a in out["new_announcements"]]
            lines += [f"site {f}" for f in out["site"]["changed"]]
            lines += [f"notice {n['client']}: {n['status']}" for n in out["notices"]]
            result["diff"] = {"before": "", "after": "\n".join(lines) + "\n", "after_header": str(dest)}
        return result
