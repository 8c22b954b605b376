# Copyright: Smartt S4 Toolkit contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter smartt.s4.lifecycle_recommend: a thin wrapper over s4.lifecycle.Engine.recommend."""

from __future__ import annotations

DOCUMENTATION = r"""
name: lifecycle_recommend
short_description: Recommended uplift target for a product on a distro
version_added: "0.1.0"
author: Smartt S4 Toolkit contributors
description:
  - Picks the smallest cycle of a product that stays supported for O(min_months) after O(as_of), that the target
    O(distro) ships or can install from a known repository, and that satisfies O(constraints).
  - Returns null when no cycle qualifies.
options:
  _input:
    description: Product id or alias (C(php), C(nginx), C(mariadb), C(debian) ...).
    type: str
    required: true
  distro:
    description: Target distro, e.g. C(debian-13).
    type: str
  as_of:
    description: Date (YYYY-MM-DD) the support horizon starts from; default today.
    type: str
  min_months:
    description: Months of support the target must still have.
    type: int
    default: 18
  constraints:
    description: 'Limits, e.g. C({"php": ">=7.4,<8.5"}) derived from the applications of the site.'
    type: dict
  current:
    description: Current version; targets older than its cycle are not considered.
    type: str
"""

EXAMPLES = r"""
- name: PHP target on Debian 13 for a site whose WordPress supports PHP up to 8.4
  ansible.builtin.debug:
    msg: "{{ 'php' | smartt.s4.lifecycle_recommend(distro='debian-13', constraints={'php': '>=7.4,<8.5'}) }}"
"""

RETURN = r"""
_value:
  description: The recommendation, or null when no cycle qualifies.
  type: dict
  contains:
    product: {description: Product id., type: str}
    cycle: {description: Target cycle., type: str}
    version: {description: Newest version in the target cycle., type: str}
    eol: {description: End of support of the target (ISO date) or null when none is announced., type: str}
    source: {description: "distro, upstream or the repository that installs it.", type: str}
    reason: {description: Why this target., type: str}
"""

from typing import Any  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.smartt.s4.plugins.filter.lifecycle_verdict import _engine, _int, parse_as_of  # noqa: E402


def lifecycle_recommend(product: Any, distro: Any = None, as_of: Any = None, min_months: Any = None,
                        constraints: Any = None, current: Any = None) -> dict[str, Any] | None:
    if not isinstance(product, str) or not product:
        raise AnsibleFilterError(f"lifecycle_recommend expects a product id, got {product!r}")
    if constraints is not None and not isinstance(constraints, dict):
        raise AnsibleFilterError(f"constraints must be a dict like {{'php': '>=7.4,<8.5'}}, got {constraints!r}")
    engine = _engine()
    if engine.resolve(product) is None:
        raise AnsibleFilterError(f"unknown product {product!r}")
    if distro is not None and engine.catalog.resolve_distro(distro) is None:
        raise AnsibleFilterError(f"unknown distro {distro!r}; known: {', '.join(engine.known_distros())}")
    from s4.lifecycle.constraints import ConstraintError, ConstraintSet

    for k, spec in (constraints or {}).items():
        try:
            ConstraintSet(spec)
        except ConstraintError as exc:
            raise AnsibleFilterError(f"bad constraint {k}={spec!r}: {exc}") from exc
    rec = engine.recommend(product, distro=distro, as_of=parse_as_of(as_of), constraints=constraints or None,
                           min_months=_int("min_months", min_months, 18),
                           current=str(current) if current is not None else None)
    return rec.to_dict() if rec is not None else None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lifecycle_recommend": lifecycle_recommend}
