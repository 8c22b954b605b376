"""POC profiles: the target distro template and component versions of a POC (docs/POC.md).

A profile is a YAML file in ``s4/data/poc_profiles/`` (or any path given by the operator)::

    name: debian13
    distro: debian-13
    suite: trixie
    template: 9000
    vm: {memory: 2048, cores: 2}
    provides: {php: ["8.4"], mariadb: ["11.8"], postgresql: ["17"]}
    components: {php: "8.4", mariadb: "11.8", postgresql: "17"}
    legitimate_differences:
      - {path: /etc/wordpress/config-*.php, change: modified, reason: "..."}

Target versions come, in this order, from the operator's overrides, the lifecycle engine's recommendation (when it
falls inside what the template's repositories provide) and the profile's ``components``. A version the template
cannot provide is refused with the reason, before anything is changed.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

PROFILE_DIR = Path(__file__).resolve().parents[1] / "data" / "poc_profiles"
POLICY_FILE = Path(__file__).resolve().parents[1] / "data" / "catalog" / "policy.yaml"
COMPONENTS = ("php", "mariadb", "postgresql")
CHANGES = ("modified", "added", "missing", "any")
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
VERSION_RE = re.compile(r"^\d+(\.\d+)?$")


class ProfileError(ValueError):
    """The profile (or a version requested from it) is invalid; the message says why."""


@dataclass(frozen=True)
class LegitimateDifference:
    path: str
    change: str
    reason: str

    def matches(self, path: str, change: str) -> bool:
        return (self.change in ("any", change)) and fnmatch.fnmatchcase(path, self.path)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "change": self.change, "reason": self.reason}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    distro: str
    suite: str
    template: int
    provides: dict[str, tuple[str, ...]]
    components: dict[str, str]
    vm: dict[str, int] = field(default_factory=dict)
    legitimate_differences: tuple[LegitimateDifference, ...] = ()
    source: str = ""

    def legitimate(self, path: str, change: str) -> LegitimateDifference | None:
        """The declared difference that covers ``change`` (modified|added|missing) of ``path``, if any."""
        for d in self.legitimate_differences:
            if d.matches(path, change):
                return d
        return None

    def resolve_versions(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        engine: Any = None,
        as_of: date | None = None,
        products: tuple[str, ...] = COMPONENTS,
    ) -> dict[str, dict[str, str]]:
        """Target version per component: ``{product: {version, origin, reason}}``.

        ``origin`` is ``override``, ``lifecycle`` or ``profile``. Raises :class:`ProfileError` for an unknown
        component or a version the template does not provide.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(COMPONENTS))
        if unknown:
            raise ProfileError(
                f"profile {self.name}: unknown component(s) {', '.join(unknown)}; known: {', '.join(COMPONENTS)}"
            )
        out: dict[str, dict[str, str]] = {}
        for product in products:
            provided = self.provides.get(product, ())
            if product in overrides and overrides[product] not in (None, ""):
                want = str(overrides[product])
                if want not in provided:
                    raise ProfileError(
                        f"profile {self.name}: {product} {want} is not provided by template {self.template} "
                        f"({self.distro}); available: {', '.join(provided) or 'none'}"
                    )
                out[product] = {"version": want, "origin": "override", "reason": "requested by the operator"}
                continue
            rec = _recommend(engine, product, self.distro, as_of)
            if rec is not None and rec in provided:
                out[product] = {
                    "version": rec,
                    "origin": "lifecycle",
                    "reason": f"lifecycle engine recommends {product} {rec} on {self.distro}",
                }
                continue
            default = self.components.get(product)
            if default is None:
                continue
            why = f"profile {self.name} default"
            if rec is not None:
                why += f" (lifecycle engine recommends {rec}, which {self.distro} does not provide)"
            out[product] = {"version": default, "origin": "profile", "reason": why}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "distro": self.distro,
            "suite": self.suite,
            "template": self.template,
            "provides": {k: list(v) for k, v in self.provides.items()},
            "components": dict(self.components),
            "vm": dict(self.vm),
            "legitimate_differences": [d.to_dict() for d in self.legitimate_differences],
            "source": self.source,
        }


def _recommend(engine: Any, product: str, distro: str, as_of: date | None) -> str | None:
    if engine is None:
        return None
    try:
        rec = engine.recommend(product, distro=distro, as_of=as_of)
    except Exception:  # the engine's catalogue may not know the product: fall back to the profile
        return None
    cycle = getattr(rec, "cycle", None) if rec is not None else None
    return str(cycle) if cycle else None


def default_engine() -> Any:
    """The lifecycle engine with its committed catalogue, or ``None`` when it is not available."""
    try:
        from s4.lifecycle import Engine  # type: ignore[attr-defined]

        return Engine.load_default()
    except Exception:
        return None


def default_name(facts: Mapping[str, Any] | None = None, policy_file: Path | None = None) -> str:
    """The profile ``poc_provision.yml`` builds for a source when the operator names none (``poc_profiles`` in
    ``s4/data/catalog/policy.yaml``): by the OS family of the source's facts (``os.id``, else the family of its
    ``distro`` id), else the policy's ``default``. The EOL report recommends this profile's stack, and release
    notices offer it, so the three say the same thing."""
    path = policy_file or POLICY_FILE
    try:
        data = _parse_policy(path.read_bytes())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read the POC profile policy: {exc}") from None
    pol = data.get("poc_profiles") if isinstance(data, dict) else None
    if not isinstance(pol, dict) or not isinstance(pol.get("default"), str) or not NAME_RE.match(pol["default"]):
        raise ProfileError(f"{path}: poc_profiles.default must name a POC profile")
    families = pol.get("families") or {}
    if not isinstance(families, dict):
        raise ProfileError(f"{path}: poc_profiles.families must map an OS family to a POC profile")
    family = _family(facts)
    name = families.get(family) if family else None
    if name is None:
        name = pol["default"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ProfileError(f"{path}: poc_profiles.families.{family}: {name!r} is not a profile name")
    return name


@functools.lru_cache(maxsize=8)
def _parse_policy(content: bytes) -> Any:
    """The policy file's YAML, parsed once per content (the report asks per host and gather run)."""
    return yaml.safe_load(content.decode("utf-8")) or {}


def default_for(facts: Mapping[str, Any] | None = None, directory: Path = PROFILE_DIR) -> Profile:
    """The default POC profile of a source host (see :func:`default_name`), loaded."""
    return load(default_name(facts), directory)


def _family(facts: Mapping[str, Any] | None) -> str | None:
    if not isinstance(facts, Mapping):
        return None
    os_ = facts.get("os")
    if isinstance(os_, Mapping) and isinstance(os_.get("id"), str) and NAME_RE.match(os_["id"]):
        return os_["id"]
    distro = facts.get("distro")
    if isinstance(distro, str):
        m = re.match(r"^([a-z][a-z0-9_]*)-[0-9]", distro)
        if m:
            return m.group(1)
    return None


def stack(profile: Profile, *, engine: Any = None, as_of: date | None = None,
          overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the profile builds: its distro release and the component versions :meth:`Profile.resolve_versions`
    picks (the same call ``poc_provision.yml`` makes through the ``poc_profile`` filter)."""
    os_id, _, release = profile.distro.partition("-")
    versions = profile.resolve_versions(overrides, engine=engine, as_of=as_of)
    return {"profile": profile.name, "description": profile.description, "distro": profile.distro,
            "os": {"product": os_id, "cycle": release},
            "versions": {p: v["version"] for p, v in versions.items()}}


def available() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yml"))


def load(name_or_path: str, directory: Path = PROFILE_DIR) -> Profile:
    """Load a profile by name (from ``directory``) or by path to a YAML file."""
    p = Path(name_or_path)
    if name_or_path.endswith((".yml", ".yaml")) or "/" in name_or_path:
        path = p
    else:
        if not NAME_RE.match(name_or_path):
            raise ProfileError(f"invalid profile name {name_or_path!r}")
        path = directory / f"{name_or_path}.yml"
    if not path.is_file():
        known = ", ".join(sorted(x.stem for x in directory.glob("*.yml")))
        raise ProfileError(f"unknown POC profile {name_or_path!r} (no {path}); available: {known}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path}: invalid YAML: {exc}") from None
    return parse(data, source=str(path))


def parse(data: Any, source: str = "<profile>") -> Profile:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: a profile is a mapping")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append("name: required, ^[a-z][a-z0-9_-]*$")
    distro = data.get("distro")
    if not isinstance(distro, str) or not re.match(r"^[a-z]+-[0-9][0-9.]*$", distro):
        problems.append("distro: required, like debian-13")
    suite = data.get("suite")
    if not isinstance(suite, str) or not suite:
        problems.append("suite: required (e.g. trixie)")
    template = data.get("template")
    if not isinstance(template, int) or isinstance(template, bool) or not 100 <= template <= 999999999:
        problems.append("template: required, a Proxmox VM id (integer >= 100)")
    provides: dict[str, tuple[str, ...]] = {}
    raw_prov = data.get("provides") or {}
    if not isinstance(raw_prov, dict):
        problems.append("provides: a mapping component -> list of versions")
        raw_prov = {}
    for comp, versions in raw_prov.items():
        if comp not in COMPONENTS:
            problems.append(f"provides.{comp}: unknown component; known: {', '.join(COMPONENTS)}")
            continue
        if not isinstance(versions, list) or not all(VERSION_RE.match(str(v)) for v in versions):
            problems.append(f"provides.{comp}: a list of versions like \"8.4\"")
            continue
        provides[comp] = tuple(str(v) for v in versions)
    components: dict[str, str] = {}
    raw_comp = data.get("components") or {}
    if not isinstance(raw_comp, dict):
        problems.append("components: a mapping component -> version")
        raw_comp = {}
    for comp, version in raw_comp.items():
        if comp not in COMPONENTS:
            problems.append(f"components.{comp}: unknown component; known: {', '.join(COMPONENTS)}")
        elif str(version) not in provides.get(comp, ()):
            problems.append(f"components.{comp}: {version} is not in provides.{comp}")
        else:
            components[comp] = str(version)
    vm: dict[str, int] = {}
    raw_vm = data.get("vm") or {}
    if not isinstance(raw_vm, dict):
        problems.append("vm: a mapping (memory, cores)")
        raw_vm = {}
    for key, value in raw_vm.items():
        if key not in ("memory", "cores") or not isinstance(value, int) or value <= 0:
            problems.append(f"vm.{key}: memory/cores, positive integers")
        else:
            vm[key] = value
    diffs: list[LegitimateDifference] = []
    raw_diffs = data.get("legitimate_differences") or []
    if not isinstance(raw_diffs, list):
        problems.append("legitimate_differences: a list")
        raw_diffs = []
    for i, d in enumerate(raw_diffs):
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("path"), str)
            or not (d["path"].startswith("/") or d["path"] == "@db-credentials")
            or d.get("change", "modified") not in CHANGES
            or not isinstance(d.get("reason"), str)
            or not d["reason"].strip()
        ):
            problems.append(
                f"legitimate_differences[{i}]: needs an absolute path (glob), change in {'/'.join(CHANGES)} and a reason"
            )
            continue
        diffs.append(LegitimateDifference(d["path"], d.get("change", "modified"), d["reason"].strip()))
    unknown = sorted(set(data) - {"name", "description", "distro", "suite", "template", "provides", "components", "vm",
                                  "legitimate_differences"})
    if unknown:
        problems.append(f"unknown key(s): {', '.join(unknown)}")
    if problems:
        raise ProfileError(f"{source}: invalid POC profile:\n  " + "\n  ".join(problems))
    assert isinstance(name, str) and isinstance(distro, str) and isinstance(suite, str) and isinstance(template, int)
    return Profile(
        name=name,
        description=str(data.get("description") or ""),
        distro=distro,
        suite=suite,
        template=template,
        provides=provides,
        components=components,
        vm=vm,
        legitimate_differences=tuple(diffs),
        source=source,
    )
