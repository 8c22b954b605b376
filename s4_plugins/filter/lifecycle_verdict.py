# Copyright: Smartt S4 Toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter smartt.s4.lifecycle_verdict: a thin wrapper over s4.lifecycle.Engine.evaluate."""

from __future__ import annotations

DOCUMENTATION = r"""
name: lifecycle_verdict
short_description: Lifecycle verdict (EOL status, support source, target) for a software component
version_added: "0.1.0"
author: Smartt S4 Toolkit contributors
description:
  - Judges a component against the S4 EOL catalog (C(s4.lifecycle), committed under C(s4/data/catalog)).
  - Returns status (supported, security-only, eol-soon, eol, unknown), the support source (upstream or distro),
    dates, days left, patch freshness, a recommended target and alternatives.
  - The input is either a component dict from C(ansible_facts.s4_software.components) or a product id
    together with the O(version) option.
options:
  _input:
    description: A component dict (keys C(product), C(version)/C(raw_version), C(source)) or a product id string.
    type: raw
    required: true
  version:
    description: Version (package version, banner or upstream version); required when the input is a product id.
    type: str
  distro:
    description: Distro of the host, e.g. C(debian-11) (C(ansible_facts.s4_software.distro)).
    type: str
  as_of:
    description: Judge as of this date (YYYY-MM-DD); default today.
    type: str
  eol_soon_days:
    description: Window for C(eol-soon).
    type: int
    default: 180
  min_months:
    description: A recommended target must stay supported this many months after O(as_of).
    type: int
    default: 18
  constraints:
    description: 'Limits on the recommended target, e.g. C({"php": ">=7.4,<8.5"}).'
    type: dict
"""

EXAMPLES = r"""
- name: Verdicts for every component of a host
  ansible.builtin.debug:
    msg: "{{ item | smartt.s4.lifecycle_verdict(distro=ansible_facts.s4_software.distro) }}"
  loop: "{{ ansible_facts.s4_software.components }}"

- name: One product and version
  ansible.builtin.set_fact:
    php_verdict: "{{ 'php' | smartt.s4.lifecycle_verdict(version='7.4.33-1+deb11u5', distro='debian-11', as_of='2026-11-27') }}"
"""

RETURN = r"""
_value:
  description: The verdict (CONTRACTS.md section 2, C(Verdict.to_dict())).
  type: dict
  contains:
    product: {description: Catalog product id., type: str}
    cycle: {description: Release cycle matched., type: str}
    version: {description: Upstream version., type: str}
    status: {description: "supported, security-only, eol-soon, eol or unknown.", type: str}
    source: {description: upstream or distro., type: str}
    support_end: {description: Date (ISO) that decides the status., type: str}
    days_left: {description: Days until support_end (negative once past)., type: int}
    latest_in_cycle: {description: Newest release of the cycle., type: str}
    releases_behind: {description: Releases newer than the installed one in the cycle., type: int}
    recommended: {description: "Recommended target (product, cycle, version, eol, source, reason) or null.", type: dict}
    alternatives: {description: "Alternatives (product, reason).", type: list, elements: dict}
    reason: {description: Why., type: str}
"""

from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

try:
    from s4.lifecycle import Engine
    from s4.lifecycle.catalog import CatalogError
except ImportError as _exc:  # pragma: no cover - the s4 package is installed in the controller venv
    Engine = None  # type: ignore[assignment,misc]
    _IMPORT_ERROR: Exception | None = _exc
else:
    _IMPORT_ERROR = None


def _engine() -> Any:
    if Engine is None:
        raise AnsibleFilterError(f"lifecycle filters need the s4 package on the controller: {_IMPORT_ERROR}")
    try:
        return Engine.load_default()
    except CatalogError as exc:
        raise AnsibleFilterError(f"lifecycle catalog error: {exc}") from exc


def parse_as_of(as_of: Any) -> date:
    if as_of is None or as_of == "":
        return date.today()
    if isinstance(as_of, date):
        return as_of
    try:
        return date.fromisoformat(str(as_of))
    except ValueError as exc:
        raise AnsibleFilterError(f"as_of must be a date YYYY-MM-DD, got {as_of!r}") from exc


def _int(name: str, value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool):
        raise AnsibleFilterError(f"{name} must be an integer, got {value!r}")
    try:
        n = int(value)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"{name} must be an integer, got {value!r}") from exc
    if n < 0:
        raise AnsibleFilterError(f"{name} must be >= 0, got {n}")
    return n


def lifecycle_verdict(component: Any, version: Any = None, distro: Any = None, as_of: Any = None,
                      eol_soon_days: Any = None, min_months: Any = None, constraints: Any = None) -> dict[str, Any]:
    if constraints is not None and not isinstance(constraints, dict):
        raise AnsibleFilterError(f"constraints must be a dict like {{'php': '>=7.4,<8.5'}}, got {constraints!r}")
    if distro is not None and not isinstance(distro, str):
        raise AnsibleFilterError(f"distro must be a string like 'debian-11', got {distro!r}")
    engine = _engine()
    kw = {"eol_soon_days": _int("eol_soon_days", eol_soon_days, 180), "min_months": _int("min_months", min_months, 18),
          "constraints": constraints or None}
    day = parse_as_of(as_of)
    if isinstance(component, dict):
        if not component.get("product"):
            raise AnsibleFilterError(f"component dict needs a 'product' key: {component!r}")
        if version is not None:
            component = dict(component, raw_version=version)
        if not (component.get("raw_version") or component.get("version")):
            raise AnsibleFilterError(f"component dict needs 'version' or 'raw_version': {component!r}")
        return engine.evaluate_component(component, distro, day, **kw).to_dict()
    if isinstance(component, str):
        if version is None or version == "":
            raise AnsibleFilterError("lifecycle_verdict on a product id needs version=...")
        return engine.evaluate(component, str(version), distro, day, **kw).to_dict()
    raise AnsibleFilterError(f"lifecycle_verdict expects a component dict or a product id, got {type(component).__name__}")


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lifecycle_verdict": lifecycle_verdict}
