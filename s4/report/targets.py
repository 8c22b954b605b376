"""Uplift targets from the one POC policy: what ``poc_provision.yml`` builds by default for a host.

The EOL report recommends, for a host whose OS must move, exactly the stack of the host's default POC profile
(``s4.poc.profiles.default_for``: ``poc_profiles`` in ``s4/data/catalog/policy.yaml``): the profile's OS release,
the PHP/MariaDB/PostgreSQL versions the profile resolves (the same call the ``poc_profile`` filter makes), and for
the other distro packages the cycle the profile's release ships. Each target carries its own support end (judged
by the lifecycle engine on the profile's distro) and names the profile, so a report, a release notice and a POC
never offer different versions.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from s4.report.util import version_key

_STACKS: dict[tuple[int, str, str], dict[str, Any] | None] = {}


def poc_stack(engine: Any, facts: Mapping[str, Any] | None, as_of: _dt.date) -> dict[str, Any] | None:
    """The default POC profile's stack for a host (``s4.poc.profiles.stack``), or None when no profile applies
    (the policy names none for its OS family, or the profile cannot be read). Memoised per engine and date."""
    try:
        from s4.poc import profiles
    except ImportError:  # pragma: no cover - s4.poc ships with s4.report
        return None
    try:
        name = profiles.default_name(facts)
    except profiles.ProfileError:
        return None
    key = (id(engine), name, as_of.isoformat())
    if key not in _STACKS:
        try:
            _STACKS[key] = profiles.stack(profiles.load(name), engine=engine, as_of=as_of)
        except profiles.ProfileError:
            _STACKS[key] = None
        if len(_STACKS) > 256:
            _STACKS.clear()
    return _STACKS.get(key)


def _shipped(engine: Any, distro: str, product: str) -> list[str]:
    info_of = getattr(engine, "distro_info", None)
    if info_of is None:
        return []
    try:
        info = info_of(distro) or {}
    except (ValueError, KeyError, LookupError):
        return []
    return [str(c) for c in (info.get("ships") or {}).get(product) or []]


def built_cycle(engine: Any, stack: Mapping[str, Any], product: str) -> str | None:
    """The cycle of ``product`` a POC with this stack installs: the profile's OS release, its pinned version, else
    the newest cycle its distro release ships; None when the POC does not install the product."""
    if product == stack["os"]["product"]:
        return str(stack["os"]["cycle"])
    if product in stack["versions"]:
        return str(stack["versions"][product])
    shipped = _shipped(engine, str(stack["distro"]), product)
    return max(shipped, key=version_key) if shipped else None


def profile_target(engine: Any, stack: Mapping[str, Any], product: str, as_of: _dt.date,
                   verdict: Any) -> dict[str, Any] | None:
    """The recommended target for ``product`` from the POC stack, with the target's own support end; ``verdict``
    is the report's ``_verdict`` function (called as the report calls the engine)."""
    cycle = built_cycle(engine, stack, product)
    if cycle is None:
        return None
    v = verdict(engine, product, cycle, str(stack["distro"]), as_of)
    if v.get("status") in (None, "unknown") and not v.get("cycle"):
        return None
    end = v.get("support_end")
    until = f"supported until {end}" if end else "no announced end of support"
    label = stack.get("description") or stack["distro"]
    return {"product": v.get("product") or product, "cycle": v.get("cycle") or cycle,
            "version": v.get("latest_in_cycle") or v.get("version") or cycle, "eol": end,
            "reason": f"what POC profile {stack['profile']} builds ({label}): {until} ({v.get('source') or 'upstream'})",
            "profile": stack["profile"]}


def same_os(engine: Any, facts: Mapping[str, Any] | None, stack: Mapping[str, Any]) -> bool:
    """Whether the host runs the profile's OS product (Debian for a Debian profile): only then are the profile's
    packages targets for the host's packages. Names go through the engine's resolver when it has one."""
    os_ = (facts or {}).get("os")
    host_os = os_.get("id") if isinstance(os_, Mapping) else None
    if not host_os:
        return False
    resolve = getattr(engine, "resolve", None)

    def norm(name: str) -> str:
        if resolve is not None:
            try:
                return str(resolve(name) or name)
            except (ValueError, KeyError, LookupError, TypeError):
                return name
        return name

    return norm(str(host_os)) == norm(str(stack["os"]["product"]))
