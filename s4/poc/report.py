"""The POC report (JSON + HTML): versions before/after with lifecycle verdicts, integrity, interop, client issues.

:func:`build` assembles the report from what the playbook collected; :func:`render_json` / :func:`render_html` give
deterministic text (same inputs -> same bytes, so re-running an unchanged POC rewrites nothing). Secrets never enter a
report: credentials are only referenced by the path of their file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import jinja2

from s4.redact import failure_message, redact

SCHEMA = 1
APP_UPGRADE_NOTE = (
    "After a schema upgrade the application's database on the POC differs from the source by design; the integrity "
    "gate compared the copy with the source before the upgrade (checksums taken right after the restore, before any "
    "application traffic)."
)
COMPONENT_PRODUCTS = ("php", "mariadb", "mysql", "postgresql", "nginx", "apache-http-server", "debian")


PACKAGE_SOURCES = ("dpkg", "rpm", "apk", "os-release")
VERDICT_KEYS = ("status", "cycle", "version", "eol", "support_end", "days_left", "reason", "source", "distro",
                "recommended")


def lifecycle_call(component: Mapping[str, Any], distro: str | None) -> dict[str, Any]:
    """The lifecycle question for one component, as ``s4 lifecycle`` asks it: ``PRODUCT RAW_VERSION --distro
    DISTRO --packaged yes|no``. A component the package manager (or os-release) reported is the distro's own
    package; one found outside it is not."""
    raw = component.get("raw_version") or component.get("version")
    packaged = str(component.get("source") or "") in PACKAGE_SOURCES
    return {"product": str(component.get("product") or ""), "version": None if raw in (None, "") else str(raw),
            "distro": distro, "packaged": packaged}


def _verdict(engine: Any, call: Mapping[str, Any] | None, as_of: date | None) -> dict[str, Any]:
    """The engine's verdict for one :func:`lifecycle_call`: the same call ``s4 lifecycle`` makes (its defaults for
    the eol-soon window and the target horizon), so the POC report and the command never disagree."""
    if engine is None or not call or not call.get("version"):
        return {"status": "unknown", "reason": "no lifecycle engine" if engine is None else "no version"}
    try:
        v = engine.evaluate(call["product"], call["version"], call.get("distro"), as_of or date.today(),
                            packaged=call.get("packaged"))
        d = v.to_dict()
    except Exception as exc:  # unknown product, bad version: report it, never fail the report
        return {"status": "unknown", "reason": str(exc)}
    return {k: d.get(k) for k in VERDICT_KEYS if k in d}


def component_map(facts: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{product: component}`` of the interesting components in ``s4_software`` facts (CONTRACTS §1); the OS
    comes from ``os`` when discovery listed no OS component."""
    out: dict[str, dict[str, Any]] = {}
    if not facts:
        return out
    for c in facts.get("components") or []:
        product = c.get("product") if isinstance(c, Mapping) else None
        if product in COMPONENT_PRODUCTS and c.get("version") and product not in out:
            out[str(product)] = dict(c)
    os_ = facts.get("os") or {}
    if os_.get("id") and os_.get("version_full") and os_.get("id") not in out:
        out[str(os_["id"])] = {"product": str(os_["id"]), "version": str(os_.get("version") or os_["version_full"]),
                               "raw_version": str(os_["version_full"]), "source": "os-release", "kind": "os"}
    return out


def components_of(facts: Mapping[str, Any] | None) -> dict[str, str]:
    """``{product: version}`` of the interesting components in ``s4_software`` facts (CONTRACTS §1)."""
    return {p: str(c.get("version")) for p, c in component_map(facts).items()}


def apps_of(facts: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in (facts or {}).get("sites") or []:
        out[s.get("name", "?")] = [dict(a) for a in s.get("apps") or []]
    return out


def versions_table(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    engine: Any = None,
    as_of: date | None = None,
    after_distro: str | None = None,
) -> list[dict[str, Any]]:
    """One row per component: before (judged on the source's distro) and after (judged on the POC's distro:
    the profile's when given, else the one the POC's facts report)."""
    b, a = component_map(before), component_map(after)
    b_distro = (before or {}).get("distro")
    a_distro = after_distro or (after or {}).get("distro")
    rows = []
    for product in COMPONENT_PRODUCTS:
        if product not in b and product not in a:
            continue
        b_call = lifecycle_call(b[product], b_distro) if product in b else None
        a_call = lifecycle_call(a[product], a_distro) if product in a else None
        rows.append(
            {
                "product": product,
                "before": b[product]["version"] if product in b else None,
                "before_call": b_call,
                "before_verdict": _verdict(engine, b_call, as_of),
                "after": a[product]["version"] if product in a else None,
                "after_call": a_call,
                "after_verdict": _verdict(engine, a_call, as_of),
            }
        )
    return rows


def client_issues(
    plan: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    *,
    compat: Any = None,
    after: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Issues the client must act on: an application release that does not support the target PHP.

    A distro-packaged application is replaced on the POC by the target release's package: the issue then says
    which version the POC runs (and still asks the client to check it, customisations included)."""
    issues: list[dict[str, str]] = []
    php = (plan.get("versions") or {}).get("php", {}).get("version")
    apps = apps_of(before)
    apps_after = apps_of(after)
    for site in plan.get("sites") or []:
        for app in apps.get(site["name"], []):
            if compat is None or not php or not app.get("version"):
                continue
            rng = compat.php_range(app["product"], str(app["version"]))
            if rng is None or rng.allows(php):
                continue
            fix = compat.first_release_supporting(app["product"], php, at_least=str(app["version"]))
            now = [a for a in apps_after.get(site["name"], []) if a.get("product") == app["product"]]
            if site.get("packaged") and now and now[0].get("version"):
                issues.append(
                    {
                        "site": site["name"],
                        "severity": "check",
                        "message": (
                            f"{app['product']} {app['version']} supports PHP {_spec(rng)}; the POC runs the target "
                            f"release's package, {app['product']} {now[0]['version']}, on PHP {php}"
                        ),
                        "action": f"test the site on the POC ({app['product']} upgraded by the distribution), "
                                  "plugins and themes included",
                    }
                )
                continue
            issues.append(
                {
                    "site": site["name"],
                    "severity": "action",
                    "message": (
                        f"{app['product']} {app['version']} supports PHP {_spec(rng)}; the POC serves PHP {php}"
                    ),
                    "action": (
                        f"upgrade {app['product']} to {fix} or later before go-live" if fix
                        else f"check {app['product']}'s PHP {php} support with its vendor"
                    ),
                }
            )
    return issues


def app_upgrade_section(rows: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """The "application upgrades" section: one row per site (``s4.poc.apps.results``), and the note that an upgraded
    database differs from the source by design."""
    keep = ("site", "app", "database", "package", "package_before", "package_after", "schema", "schema_before",
            "schema_after", "schema_target", "status", "detail")
    out = [{k: r.get(k) for k in keep} for r in rows or []]
    for r in out:
        if not r["site"] or not r["app"] or not r["status"]:
            raise ValueError(f"application upgrade row without site, app or status: {r}")
    upgraded = [r["site"] for r in out if r["status"] == "ran"]
    return {"sites": out, "note": APP_UPGRADE_NOTE if upgraded else None}


def _spec(rng: Any) -> str:
    spec = getattr(rng, "spec", None)
    if spec:
        return str(spec)
    return f"{getattr(rng, 'php_min', '?')} to {getattr(rng, 'php_max', '?')}"


def _scrub(value: Any) -> Any:
    """Every secret out of the report: keys naming one, credential-looking text (s4.redact, the one redaction
    used by every report writer)."""
    return redact(value)


def _failed_step(step: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The failure as reported: step, host, task, resume and a safe message. A raw ``result``
    (``ansible_failed_result``, uncensored even for a no_log task) is reduced by :func:`s4.redact.failure_message`
    and never kept."""
    if not step:
        return None
    out = {k: v for k, v in step.items() if k not in ("result", "no_log")}
    if step.get("result"):
        out["message"] = failure_message(step["result"], task_no_log=_truthy(step.get("no_log")))
    return out


def _truthy(value: Any) -> bool:
    """no_log as ansible_failed_task carries it: a bool, or anything else (an unrendered template) counts as on."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0", "off")
    return bool(value)


def build(
    plan: Mapping[str, Any],
    *,
    vm: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    integrity: Mapping[str, Any],
    interop: Iterable[Mapping[str, Any]],
    access: Mapping[str, Any],
    commands: Mapping[str, str],
    failed_step: Mapping[str, Any] | None = None,
    engine: Any = None,
    compat: Any = None,
    as_of: date | None = None,
    app_upgrades: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    interop_l = [dict(i) for i in interop]
    issues = client_issues(plan, before, compat=compat, after=after)
    upgrades = app_upgrade_section(app_upgrades)
    passed = (bool(integrity.get("passed")) and all(i.get("passed") for i in interop_l) and not failed_step
              and not any(r["status"] == "failed" for r in upgrades["sites"]))
    return _scrub(
        {
            "schema": SCHEMA,
            "name": plan["name"],
            "source": plan["source"],
            "client": plan["client"],
            "scope": plan["scope"],
            "site": plan.get("site"),
            "profile": {k: plan["profile"].get(k) for k in ("name", "description", "distro", "template")},
            "targets": plan.get("versions", {}),
            "vm": dict(vm),
            "status": "passed" if passed else "failed",
            "failed_step": _failed_step(failed_step),
            "versions": versions_table(before, after, engine=engine, as_of=as_of,
                                       after_distro=(plan.get("profile") or {}).get("distro")),
            "apps": apps_of(before),
            "integrity": dict(integrity),
            # data the plan found on the source but left out (other sites' files, the package's own files), or
            # copied whole only because it is shared with the same client's sites: issue #13 finding 6
            "data_paths": list(plan.get("data_paths") or []),
            "not_copied": [dict(n) for n in plan.get("not_copied") or []],
            "interop": interop_l,
            "app_upgrades": upgrades,
            "issues": issues,
            "access": dict(access),
            "commands": dict(commands),
        }
    )


def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"


_HTML = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _HTML.from_string(
    """{% macro verdict(d) %}{{ d.status }}{% if d.support_end %} (support {{ 'ended' if d.status == 'eol' else 'until' }} {{ d.support_end }}{% if d.source %}, {{ d.source }}{% endif %}){% elif d.status == 'supported' %} (no end announced){% endif %}{% endmacro %}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>POC {{ r.name }}: {{ r.status }}</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}
.passed,.supported{color:#176417}.failed,.eol{color:#a00}.security-only,.eol-soon{color:#a60}code,pre{background:#f4f4f4}
</style></head><body>
<h1>POC {{ r.name }} <span class="{{ r.status }}">{{ r.status | upper }}</span></h1>
<p>Source <b>{{ r.source }}</b> ({{ r.scope }}{% if r.site %}: {{ r.site }}{% endif %}), client <b>{{ r.client }}</b>,
profile <b>{{ r.profile.name }}</b> ({{ r.profile.description }}), VM {{ r.vm.vmid | default('?') }}
at {{ r.vm.address | default('?') }}.</p>
{% if r.failed_step %}
<h2 class="failed">Failed step</h2>
<p>Step <b>{{ r.failed_step.step }}</b> on host <b>{{ r.failed_step.host }}</b>: {{ r.failed_step.message }}</p>
<p>Resume: <code>{{ r.failed_step.resume }}</code></p>
{% endif %}
<h2>Versions</h2>
<table><tr><th>component</th><th>before</th><th>verdict</th><th>after</th><th>verdict</th></tr>
{% for v in r.versions %}
<tr><td>{{ v.product }}</td><td>{{ v.before or '-' }}</td>
<td class="{{ v.before_verdict.status }}" title="{{ v.before_verdict.reason | default('') }}">{{ verdict(v.before_verdict) }}</td>
<td>{{ v.after or '-' }}</td>
<td class="{{ v.after_verdict.status }}" title="{{ v.after_verdict.reason | default('') }}">{{ verdict(v.after_verdict) }}</td></tr>
{% endfor %}
</table>
<p>Verdicts: the lifecycle engine, asked as <code>s4 lifecycle PRODUCT VERSION --distro DISTRO --packaged yes|no</code>
asks it (before: the source's distro; after: the profile's, {{ r.profile.distro }}).</p>
<h2>Application upgrades</h2>
{% if r.app_upgrades.sites %}
<table><tr><th>site</th><th>application</th><th>package before</th><th>package after</th><th>schema before</th>
<th>schema after</th><th>result</th><th>detail</th></tr>
{% for u in r.app_upgrades.sites %}
<tr><td>{{ u.site }}</td><td>{{ u.app }}</td><td>{{ u.package }} {{ u.package_before or '-' }}</td>
<td>{{ u.package }} {{ u.package_after or '-' }}</td><td>{{ u.schema }} {{ u.schema_before if u.schema_before is not none else '-' }}</td>
<td>{{ u.schema }} {{ u.schema_after if u.schema_after is not none else '-' }} (target {{ u.schema_target }})</td>
<td class="{{ 'failed' if u.status == 'failed' else 'passed' }}">{{ u.status }}</td><td>{{ u.detail }}</td></tr>
{% endfor %}
</table>
{% if r.app_upgrades.note %}<p>{{ r.app_upgrades.note }}</p>{% endif %}
{% else %}<p>No packaged application with a database schema to upgrade.</p>{% endif %}
<h2>Issues for the client</h2>
{% if r.issues %}<ul>{% for i in r.issues %}<li><b>{{ i.site }}</b>: {{ i.message }}. <i>{{ i.action }}</i></li>{% endfor %}</ul>
{% else %}<p>None found.</p>{% endif %}
<h2>Integrity <span class="{{ 'passed' if r.integrity.passed else 'failed' }}">{{ 'passed' if r.integrity.passed else 'FAILED' }}</span></h2>
<table><tr><th>check</th><th>source</th><th>POC</th><th>result</th></tr>
{% for c in r.integrity.checks | default([]) %}
<tr><td>{{ c.name }}</td><td><code>{{ c.source }}</code></td><td><code>{{ c.target }}</code></td>
<td class="{{ 'passed' if c.passed else 'failed' }}">{{ 'match' if c.passed else 'MISMATCH' }}</td></tr>
{% endfor %}
</table>
{% if r.integrity.mismatches %}<h3>Mismatches</h3><ul>{% for m in r.integrity.mismatches %}<li>{{ m }}</li>{% endfor %}</ul>{% endif %}
{% if r.integrity.legitimate %}<h3>Declared differences (profile)</h3><ul>
{% for m in r.integrity.legitimate %}<li><code>{{ m.path }}</code> {{ m.change }}: {{ m.reason }}</li>{% endfor %}</ul>{% endif %}
<h2>Data copied</h2>
<ul>{% for p in r.data_paths %}<li><code>{{ p }}</code></li>{% endfor %}</ul>
{% if r.not_copied %}<h3>Found on the source, not copied (or shared)</h3>
<table><tr><th>path</th><th>site</th><th>copied</th><th>reason</th></tr>
{% for n in r.not_copied %}
<tr><td><code>{{ n.path }}</code></td><td>{{ n.site | default('') }}</td><td>{{ 'yes' if n.copied else 'no' }}</td><td>{{ n.reason }}</td></tr>
{% endfor %}
</table>{% endif %}
<h2>Interoperability</h2>
<table><tr><th>check</th><th>site</th><th>result</th><th>detail</th></tr>
{% for i in r.interop %}
<tr><td>{{ i.check }}</td><td>{{ i.site | default('') }}</td><td class="{{ 'passed' if i.passed else 'failed' }}">{{ 'ok' if i.passed else 'FAILED' }}</td><td>{{ i.detail | default('') }}</td></tr>
{% endfor %}
</table>
<h2>Testing the POC</h2>
<p>Add to your hosts file (or create the DNS records below):</p>
<pre>{% for l in r.access.hosts_lines | default([]) %}{{ l }}
{% endfor %}</pre>
<ul>{% for d in r.access.dns | default([]) %}<li>{{ d.name }} {{ d.type }} {{ d.value }}</li>{% endfor %}</ul>
<p>Credentials are delivered separately (file <code>{{ r.access.credentials_file | default('-') }}</code> on the
controller, mode 0600); they are never written to logs or this report.</p>
<h2>Next steps</h2>
<ul>{% for k, c in r.commands | dictsort %}<li>{{ k }}: <code>{{ c }}</code></li>{% endfor %}</ul>
</body></html>
"""
)


def render_html(report: Mapping[str, Any]) -> str:
    return _TEMPLATE.render(r=report)
