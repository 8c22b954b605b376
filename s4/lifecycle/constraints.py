"""Version constraints on cycles: ``>=7.4,<8.5``, ``7.2 - 8.4``, ``8.2, 8.3``, ``==8.2``, ``8.1``."""

from __future__ import annotations

import re

from s4.lifecycle.versions import VersionError, compare_at_depth, upstream_key

# op -> the results of compare_at_depth() that satisfy it
_OPS: dict[str, frozenset[int]] = {
    ">=": frozenset({0, 1}), "<=": frozenset({-1, 0}), ">": frozenset({1}), "<": frozenset({-1}),
    "==": frozenset({0}), "!=": frozenset({-1, 1}),
}
_SPEC_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*v?(\d+(?:\.\d+)*)\s*$")
_RANGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)*)\s*(?:-|–|to)\s*(\d+(?:\.\d+)*)\s*$")


class ConstraintError(ValueError):
    """A constraint string that cannot be parsed."""


def _nums(v: str) -> tuple[int, ...]:
    try:
        return upstream_key(v)[0]
    except VersionError as exc:
        raise ConstraintError(str(exc)) from exc


class Constraint:
    """A parsed constraint, tested against cycle ids (``8.2``) or versions (``8.2.27``, compared at cycle depth)."""

    __slots__ = ("text", "_alts")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ConstraintError(f"empty constraint {text!r}")
        self.text = text.strip()
        # a list of alternatives (OR); each alternative is a list of (op, version) (AND)
        self._alts: list[list[tuple[str, tuple[int, ...], int]]] = []
        m = _RANGE_RE.match(self.text)
        if m:
            lo, hi = m.group(1), m.group(2)
            self._alts.append([(">=", _nums(lo), lo.count(".") + 1), ("<=", _nums(hi), hi.count(".") + 1)])
            return
        parts = [p for p in self.text.split(",") if p.strip()]
        if all(_SPEC_RE.match(p) and not _SPEC_RE.match(p).group(1) for p in parts):  # type: ignore[union-attr]
            for p in parts:  # "8.2, 8.3" = one of these cycles
                v = p.strip().lstrip("v")
                self._alts.append([("==", _nums(v), v.count(".") + 1)])
            return
        spec: list[tuple[str, tuple[int, ...], int]] = []
        for p in parts:
            sm = _SPEC_RE.match(p)
            if not sm:
                raise ConstraintError(f"cannot parse constraint {self.text!r} (at {p.strip()!r})")
            spec.append((sm.group(1) or "==", _nums(sm.group(2)), sm.group(2).count(".") + 1))
        self._alts.append(spec)

    def allows(self, version: str) -> bool:
        """True when the cycle/version satisfies the constraint (bounds compared at the bound's depth)."""
        try:
            full = upstream_key(version)[0]
        except VersionError:
            return False
        return any(all(_check(op, full, bound, depth) for op, bound, depth in alt) for alt in self._alts)

    def __repr__(self) -> str:
        return f"Constraint({self.text!r})"


def _check(op: str, full: tuple[int, ...], bound: tuple[int, ...], depth: int) -> bool:
    # <=, ==, != compare at the bound's depth (8.4.27 <= 8.4); >, >=, < compare the whole version
    return compare_at_depth(full, bound, depth if op in ("<=", "==", "!=") else None) in _OPS[op]


class ConstraintSet:
    """Several constraints that must all hold (e.g. the PHP ranges of every app on a site)."""

    __slots__ = ("items",)

    def __init__(self, texts: str | list[str] | tuple[str, ...]) -> None:
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list | tuple) or not texts:
            raise ConstraintError(f"constraint must be a string or a list of strings, got {texts!r}")
        self.items = [Constraint(t) for t in texts]

    def allows(self, version: str) -> bool:
        return all(c.allows(version) for c in self.items)

    @property
    def text(self) -> str:
        return " and ".join(c.text for c in self.items)
