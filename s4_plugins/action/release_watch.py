# SPDX-License-Identifier: MIT
"""Action plugin smartt.s4.release_watch: the release watch on the controller (no connection, no module shipped).

A thin wrapper over ``s4.releasewatch.watch.run`` (pure Python). Documentation: ``plugins/modules/release_watch.py``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:
    from s4.releasewatch import watch as _watch
    from s4.releasewatch.policy import PolicyError
    from s4.releasewatch.site import SiteConfig
    from s4.releasewatch.smtp import SmtpConfig, SmtpConfigError
    from s4.report.model import ReportInputError
except ImportError as _exc:  # pragma: no cover
    _watch = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None

display = Display()

_ARGS = {"hosts", "dest", "as_of", "store", "history_db", "catalog_dir", "policy", "base_url", "poc_contact",
         "sender", "send", "smtp"}
_SMTP_ARGS = {"host", "port", "security", "username", "password", "timeout", "verify_tls", "ca_file"}
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
        if _watch is None:
            raise AnsibleActionFail(f"smartt.s4.release_watch needs the s4 package of the S4 toolkit: {_IMPORT_ERROR}")
        dest = args.get("dest")
        if not dest:
            raise AnsibleActionFail("dest (the output directory) is required")
        hosts = args.get("hosts")
        if hosts is None:
            hosts = (task_vars.get("groups") or {}).get("s4_in_scope") or []
        if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)):
            raise AnsibleActionFail(f"hosts must be a list of inventory hostnames, got {hosts!r}")
        as_of = args.get("as_of")
        try:
            as_of = _dt.date.fromisoformat(str(as_of)) if as_of else _dt.datetime.now(_dt.UTC).date()
        except ValueError:
            raise AnsibleActionFail(f"as_of must be a date YYYY-MM-DD, got {as_of!r}") from None
        try:
            send = boolean(args.get("send", False), strict=True)
        except TypeError:
            raise AnsibleActionFail(f"send must be a boolean, got {args.get('send')!r}") from None

        hostvars = task_vars.get("hostvars") or {}
        raw, missing, domain = [], [], None
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
            if entry.get("s4_in_scope") is False:
                raise AnsibleActionFail(
                    f"refused: {name} ({entry.get('s4_service')}) is out of the S4 scope; pass groups['s4_in_scope']")
            facts = hv.get("s4_software") if hasattr(hv, "get") else None
            if facts is None and hasattr(hv, "get"):
                facts = (_plain(hv.get("ansible_facts") or {})).get("s4_software")
            if facts is not None:
                entry["s4_software"] = _plain(facts)
            domain = domain or entry.get("s4_domain")
            raw.append(entry)
        if missing:
            raise AnsibleActionFail(f"host(s) not in the inventory: {', '.join(missing)}")
        domain = str(domain or "smartt.example")

        smtp = None
        if send:
            options = _plain(args.get("smtp") or {})
            if not isinstance(options, dict) or set(options) - _SMTP_ARGS:
                raise AnsibleActionFail(f"smtp must be a mapping with keys {', '.join(sorted(_SMTP_ARGS))}")
            try:
                smtp = SmtpConfig.from_options(options)
            except SmtpConfigError as exc:
                raise AnsibleActionFail(str(exc)) from None

        site = SiteConfig(base_url=str(args.get("base_url") or f"https://notices.{domain}/"), domain=domain,
                          poc_contact=str(args.get("poc_contact") or f"support@{domain}"))
        opts = _watch.Options(
            as_of=as_of, out_dir=Path(dest), store_path=Path(args.get("store") or _watch.DEFAULT_PATH),
            history_db=Path(args["history_db"]) if args.get("history_db") else None,
            catalog_dir=Path(args["catalog_dir"]) if args.get("catalog_dir") else None,
            policy_path=Path(args["policy"]) if args.get("policy") else None, site=site,
            sender=str(args.get("sender") or f"s4-notices@{domain}"), send=send, smtp=smtp,
            check=bool(self._task.check_mode))
        try:
            out = _watch.run(raw, opts)
        except (PolicyError, ReportInputError, FileNotFoundError, ValueError) as exc:
            raise AnsibleActionFail(str(exc)) from None
        except OSError as exc:
            raise AnsibleActionFail(f"cannot write to {dest}: {exc}") from None
        for w in out["warnings"]:
            display.warning(f"release_watch: {w}")
        result.update(
            changed=out["changed"], dest=str(Path(dest)), site_dir=str(Path(dest) / "site"), as_of=out["as_of"],
            send=send, ready=out["ready"], new_announcements=out["new_announcements"], late_clients=out["late_clients"],
            announcements=out["announcements"], site_changed=out["site"]["changed"] + out["site"]["removed"],
            notices=[{k: n.get(k) for k in ("client", "status", "recipients", "announcements", "eml", "error")}
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
