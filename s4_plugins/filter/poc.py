# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
"""POC filters: thin wrappers over the controller-side ``s4.poc`` package (docs/POC.md).

* ``poc_profile(name, overrides)`` -> ``{profile, versions}`` (versions from overrides, lifecycle engine, profile)
* ``poc_plan(hostvars, source, site, in_scope, domain, profile, versions, webserver)`` -> the plan
* ``poc_hosts_lines(plan, address)`` / ``poc_dns_records(plan, address)``
* ``poc_compare_files(source_entries, target_entries, profile)``, ``poc_compare_tables(src, dst, db)``,
  ``poc_gate(files, databases)``
* ``poc_app_upgrades(plan)``, ``poc_app_targets(entries, slurps, finds)``, ``poc_app_due(entries, before)``,
  ``poc_app_results(entries, before, ran, after, state_slurps, dpkg_output, source_facts)``,
  ``poc_app_failures(rows)``, ``poc_app_restore_again(entries, rows)``: schema upgrades of the packaged applications (``s4.poc.apps``)
* ``poc_report(plan, ..., app_upgrades=rows)`` -> report dict; ``poc_report_json(report)``, ``poc_report_html(report)``

Each failure raises ``AnsibleFilterError`` with the reason (unknown source, out of scope, impossible version ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_filter import need
from ansible_collections.smartt.s4.plugins.plugin_utils.s4_filter import plain as _plain

try:
    from s4.poc import apps as _apps
    from s4.poc import gate as _gate
    from s4.poc import plan as _plan
    from s4.poc import profiles as _profiles
    from s4.poc import report as _report
    from s4.poc import stack as _stack

    _IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - the controller's s4 package is missing
    _IMPORT_ERROR = exc


def _need() -> None:
    need(_IMPORT_ERROR)


def poc_profile(name: str | None, overrides: Mapping[str, Any] | None = None,
                facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An empty ``name`` is the default profile for the source (``facts``): ``s4.poc.profiles.default_name``."""
    _need()
    try:
        prof = _profiles.load(str(name) if name else _profiles.default_name(_plain(facts or {})))
        versions = prof.resolve_versions(_plain(overrides or {}), engine=_profiles.default_engine())
    except _profiles.ProfileError as exc:
        raise AnsibleFilterError(str(exc)) from None
    return {"profile": prof.to_dict(), "versions": versions}


def poc_plan(hostvars: Any, source: str, site: str | None, in_scope: Any, domain: str, profile: Mapping[str, Any],
             versions: Mapping[str, Any], webserver: str | None = None) -> dict[str, Any]:
    _need()
    wanted = ("s4_service", "s4_in_scope", "s4_sites", "ansible_host")
    hv: dict[str, dict[str, Any]] = {}
    pocs: dict[str, dict[str, Any]] = {}  # POC inventory entries: a POC named before the hash suffix keeps its name
    for host in hostvars:
        vars_ = hostvars[host]
        if "s4_service" in vars_:
            hv[str(host)] = {k: _plain(vars_[k]) for k in wanted if k in vars_}
        elif isinstance(vars_.get("s4_poc"), Mapping):
            pocs[str(host)] = {k: _plain(vars_["s4_poc"].get(k)) for k in ("source", "site", "client")}
    try:
        return _plan.build(str(source or ""), hv, list(in_scope or []), site=site or None, domain=str(domain),
                           profile=_plain(profile), versions=_plain(versions), webserver=webserver or None,
                           existing_pocs=pocs)
    except _plan.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def poc_hosts_lines(plan: Mapping[str, Any], address: str) -> list[str]:
    _need()
    return _plan.hosts_lines(_plain(plan), str(address))


def poc_dns_records(plan: Mapping[str, Any], address: str) -> list[dict[str, str]]:
    _need()
    return _plan.dns_records(_plain(plan), str(address))


def poc_stack(plan: Mapping[str, Any], hostvars: Any, passwords: Any = None) -> dict[str, Any]:
    """Role inputs of the POC; DB facts are read from each DB server's ``s4_poc_db_facts`` hostvar."""
    _need()
    p = _plain(plan)
    src = hostvars[p["source"]]
    facts = _plain((src.get("ansible_facts") or {}).get("s4_software") or {})
    db_facts: dict[str, Any] = {}
    for db in p["databases"]:
        db_facts[db["name"]] = _plain((hostvars[db["server"]].get("s4_poc_db_facts") or {}).get(db["name"]))
    try:
        out = _stack.stack(p, facts, db_facts, _plain(passwords or {}))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None
    out["db_facts"] = db_facts
    out["source_facts"] = facts
    return out


def poc_probes(plan: Mapping[str, Any]) -> list[list[str]]:
    _need()
    return _stack.probes(_plain(plan))


def poc_interop(plan: Mapping[str, Any], http_results: Any, php_results: Any, services: Any, php: str,
                server: str) -> list[dict[str, Any]]:
    _need()
    return _stack.interop(_plain(plan), _plain(http_results), _plain(php_results), _plain(services or {}), str(php),
                          str(server))


def poc_dns_live_records(plan: Mapping[str, Any], address: str) -> list[dict[str, str]]:
    _need()
    return _stack.dns_live_records(_plain(plan), str(address))


def poc_db_results(plan: Mapping[str, Any], current: Any, verified: Any) -> list[dict[str, Any]]:
    """Integrity of each database: the POC's checksums taken right after its restore against the source's state it
    was restored from (``/var/lib/s4-poc/verified-<db>.json`` slurp results: ``{source_checksum, source_tables,
    checksum, tables}``), which must also be the source's current state (``current``: db_checksum loop results
    taken on the source after the copy)."""
    import base64
    import json

    _need()
    now = {}
    for r in _plain(current or []):
        if r.get("databases"):
            now[r["item"]["name"]] = r["databases"][0].get("checksum")
    out = []
    for r in _plain(verified):
        name = r["item"]["name"]
        if "content" not in r:
            out.append({"database": name, "passed": False, "tables": 0,
                        "mismatches": [f"{name}: the POC's database was never verified after a restore"]})
            continue
        rec = json.loads(base64.b64decode(r["content"]))
        res = _gate.compare_tables(rec.get("source_tables", []), rec.get("tables", []), name)
        if name in now and rec.get("source_checksum") != now[name]:
            res["passed"] = False
            res["mismatches"].append(f"{name}: the source changed after the POC's copy; re-run to resync")
        out.append(res)
    return out


def poc_mariadb_accounts(rows: str, database: str, host: str = "") -> list[dict[str, Any]]:
    """Accounts read from the source; a name that fails its strict pattern refuses the POC (naming ``host``)."""
    _need()
    try:
        return _plan.mariadb_accounts(str(rows or ""), str(database), str(host or ""))
    except _plan.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def poc_postgres_roles(rows: str, host: str = "", database: str = "") -> dict[str, Any]:
    """Roles read from the source; a name that fails its strict pattern refuses the POC (naming ``host``)."""
    _need()
    try:
        return _plan.postgres_roles(str(rows or ""), str(host or ""), str(database or ""))
    except _plan.PlanError as exc:
        raise AnsibleFilterError(str(exc)) from None


def poc_compare_files(source: Any, target: Any, profile: Mapping[str, Any], rewritten: Any = None) -> dict[str, Any]:
    _need()
    prof = _profiles.parse({k: v for k, v in _plain(profile).items() if k != "source"})
    return _gate.compare_files(_plain(source), _plain(target), prof, _plain(rewritten or []))


def poc_compare_tables(source: Any, target: Any, database: str) -> dict[str, Any]:
    _need()
    return _gate.compare_tables(_plain(source or {}), _plain(target or {}), str(database))


def poc_gate(files: Mapping[str, Any], databases: Any) -> dict[str, Any]:
    _need()
    return _gate.gate(_plain(files), _plain(databases or []))


def _apps_call(func: Any, *args: Any, **kwargs: Any) -> Any:
    _need()
    try:
        return func(*args, **kwargs)
    except _apps.AppError as exc:
        raise AnsibleFilterError(f"application schema upgrade: {exc}") from None


def poc_app_upgrades(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sites whose packaged application's schema the POC upgrades, with the files and directory to read."""
    return _apps_call(_apps.upgrades, _plain(plan))


def poc_app_paths(entries: Any, kind: str) -> list[str]:
    """``read`` (files to slurp), ``list`` (directories to list) or ``state`` (records and restore checksums)."""
    _need()
    ents = _plain(entries or [])
    if kind == "read":
        return _apps.read_paths(ents)
    if kind == "list":
        return _apps.list_dirs(ents)
    if kind == "state":
        return [p for e in ents for p in (e["record"], e["verified"])]
    raise AnsibleFilterError(f"poc_app_paths: unknown kind {kind!r} (read, list, state)")


def poc_app_targets(entries: Any, slurps: Any, finds: Any) -> list[dict[str, Any]]:
    _need()
    return _apps_call(_apps.targets, _plain(entries or []), _apps.slurped(_plain(slurps or [])),
                      _apps.listed(_plain(finds or [])))


def poc_app_due(entries: Any, before: Any) -> list[dict[str, Any]]:
    return _apps_call(_apps.due, _plain(entries or []), _plain(before or []))


def poc_app_results(entries: Any, before: Any, ran: Any, after: Any, state_slurps: Any, dpkg_output: str,
                    source_facts: Any) -> list[dict[str, Any]]:
    _need()
    return _apps_call(_apps.results, _plain(entries or []), _plain(before or []), _plain(ran or []),
                      _plain(after or []), _apps.slurped(_plain(state_slurps or [])),
                      packages_after=_apps.dpkg_versions(str(dpkg_output or "")), source_facts=_plain(source_facts))


def poc_app_failures(rows: Any) -> list[str]:
    _need()
    return _apps.failures(_plain(rows or []))


def poc_app_restore_again(entries: Any, rows: Any) -> list[str]:
    _need()
    return _apps.restore_again(_plain(entries or []), _plain(rows or []))


def poc_report(plan: Mapping[str, Any], vm: Mapping[str, Any], before: Any, after: Any, integrity: Any,
               interop: Any, access: Any, commands: Any, failed_step: Any = None,
               app_upgrades: Any = None) -> dict[str, Any]:
    _need()
    engine = _profiles.default_engine()
    try:
        from s4.report.compat import Compat

        compat = Compat.from_engine(engine) if engine is not None else None
    except Exception:  # the report package is optional: no client issues from app/PHP ranges then
        compat = None
    return _report.build(
        _plain(plan), vm=_plain(vm), before=_plain(before), after=_plain(after), integrity=_plain(integrity or {}),
        interop=_plain(interop or []), access=_plain(access or {}), commands=_plain(commands or {}),
        failed_step=_plain(failed_step) if failed_step else None, engine=engine, compat=compat,
        app_upgrades=_plain(app_upgrades) if app_upgrades is not None else None,
    )


def poc_report_json(report: Mapping[str, Any]) -> str:
    _need()
    return _report.render_json(_plain(report))


def poc_report_html(report: Mapping[str, Any]) -> str:
    _need()
    return _report.render_html(_plain(report))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "poc_profile": poc_profile,
            "poc_plan": poc_plan,
            "poc_hosts_lines": poc_hosts_lines,
            "poc_dns_records": poc_dns_records,
            "poc_stack": poc_stack,
            "poc_probes": poc_probes,
            "poc_interop": poc_interop,
            "poc_dns_live_records": poc_dns_live_records,
            "poc_db_results": poc_db_results,
            "poc_mariadb_accounts": poc_mariadb_accounts,
            "poc_postgres_roles": poc_postgres_roles,
            "poc_compare_files": poc_compare_files,
            "poc_compare_tables": poc_compare_tables,
            "poc_gate": poc_gate,
            "poc_app_upgrades": poc_app_upgrades,
            "poc_app_paths": poc_app_paths,
            "poc_app_targets": poc_app_targets,
            "poc_app_due": poc_app_due,
            "poc_app_results": poc_app_results,
            "poc_app_failures": poc_app_failures,
            "poc_app_restore_again": poc_app_restore_again,
            "poc_report": poc_report,
            "poc_report_json": poc_report_json,
            "poc_report_html": poc_report_html,
        }
