"""Which PHP cycles a web-application release supports.

The data belongs to the lifecycle catalog (``s4/data/catalog``: endoflife.date's supportedPHPVersions fields and
the hand-curated ``php_compat.yaml``); :meth:`Compat.from_engine` reads it through
``Engine.php_constraints_for_apps``. A plain table (``{product: [(app_cycle, php_spec), ...]}``) can be given
instead, e.g. in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s4.lifecycle.constraints import ConstraintError, ConstraintSet
from s4.report.util import version_key


@dataclass(frozen=True)
class PhpRange:
    product: str
    app_version: str
    spec: str

    def allows(self, php_cycle: str) -> bool:
        try:
            return ConstraintSet(self.spec).allows(php_cycle)
        except ConstraintError:
            return True  # an unreadable range cannot block anything

    def to_dict(self) -> dict[str, Any]:
        return {"app": self.product, "app_version": self.app_version, "php": self.spec}


class Compat:
    """PHP ranges per application release line."""

    def __init__(self, table: dict[str, list[tuple[str, str]]] | None = None, engine: Any = None) -> None:
        self._engine = engine
        self._rows: dict[str, list[tuple[str, str]]] = {}
        for product, rows in (table or {}).items():
            self._rows[product] = sorted(((str(c), str(s)) for c, s in rows), key=lambda r: version_key(r[0]))

    @classmethod
    def from_engine(cls, engine: Any) -> Compat:
        """Compat data from the lifecycle engine; empty when the engine offers none."""
        return cls(engine=engine if hasattr(engine, "php_constraints_for_apps") else None)

    def _spec_for(self, product: str, version: str) -> str | None:
        if self._engine is not None:
            specs = self._engine.php_constraints_for_apps([{"product": product, "version": version}])
            return ",".join(specs) if specs else None
        found = None
        for cycle, spec in self._rows.get(product, []):
            if version_key(cycle) <= version_key(version):
                found = spec
        return found

    def _cycles(self, product: str) -> list[str]:
        if self._engine is not None:
            catalog = getattr(self._engine, "catalog", None)
            prod = catalog.resolve(product) if catalog is not None else None
            return sorted((str(c.cycle) for c in getattr(prod, "cycles", []) or []), key=version_key)
        return [c for c, _ in self._rows.get(product, [])]

    def php_range(self, product: str, version: str) -> PhpRange | None:
        """The PHP range of ``product`` ``version``, or ``None`` when unknown."""
        spec = self._spec_for(product, version)
        return PhpRange(product, version, spec) if spec else None

    def first_release_supporting(self, product: str, php_cycle: str, *, at_least: str | None = None) -> str | None:
        """The oldest release line newer than ``at_least`` whose PHP range includes ``php_cycle``."""
        floor = version_key(at_least) if at_least else ()
        for cycle in self._cycles(product):
            if floor and version_key(cycle) <= floor[: len(version_key(cycle))]:
                continue
            rng = self.php_range(product, cycle)
            if rng is not None and rng.allows(php_cycle):
                return cycle
        return None
