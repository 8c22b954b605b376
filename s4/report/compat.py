"""Which PHP cycles a web-application release supports (committed reference data, ``data/app_php_compat.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from s4.report.util import version_key

DATA = Path(__file__).with_name("data") / "app_php_compat.json"


@dataclass(frozen=True)
class PhpRange:
    product: str
    app_version: str
    php_min: str
    php_max: str
    source: str

    def allows(self, php_cycle: str) -> bool:
        k = version_key(php_cycle)[:2]
        return version_key(self.php_min)[:2] <= k <= version_key(self.php_max)[:2]

    def to_dict(self) -> dict[str, Any]:
        return {"php_min": self.php_min, "php_max": self.php_max, "source": self.source}


class Compat:
    """PHP ranges per application release line, with the lookups the uplift planner needs."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = {k: v for k, v in data.items() if not k.startswith("_")}
        for product, entry in self._data.items():
            rows = entry.get("ranges") or []
            if not rows or any({"from", "php_min", "php_max"} - set(r) for r in rows):
                raise ValueError(f"app PHP compat data for {product!r}: every range needs from/php_min/php_max")
            entry["ranges"] = sorted(rows, key=lambda r: version_key(r["from"]))

    @classmethod
    def load_default(cls) -> Compat:
        return _default()

    def products(self) -> list[str]:
        return sorted(self._data)

    def php_range(self, product: str, version: str) -> PhpRange | None:
        """The PHP range of ``product`` ``version``, or ``None`` when the product or that old a release is unknown."""
        entry = self._data.get(product)
        if entry is None:
            return None
        key = version_key(version)
        found = None
        for row in entry["ranges"]:
            if version_key(row["from"]) <= key:
                found = row
        if found is None:
            return None
        return PhpRange(product, version, found["php_min"], found["php_max"], entry.get("source", ""))

    def first_release_supporting(self, product: str, php_cycle: str, *, at_least: str | None = None) -> str | None:
        """The oldest release line (>= ``at_least``) of ``product`` that supports PHP ``php_cycle``."""
        entry = self._data.get(product)
        if entry is None:
            return None
        floor = version_key(at_least) if at_least else ()
        for row in entry["ranges"]:
            rng = PhpRange(product, row["from"], row["php_min"], row["php_max"], "")
            if version_key(row["from"]) >= floor and rng.allows(php_cycle):
                return str(row["from"])
        return None


@lru_cache(maxsize=1)
def _default() -> Compat:
    return Compat(json.loads(DATA.read_text(encoding="utf-8")))
