"""Lifecycle engine: EOL catalog, version parsing and per-component verdicts (pure Python, no Ansible)."""

from s4.lifecycle.catalog import Catalog, CatalogError
from s4.lifecycle.engine import STATUSES, Engine, Recommendation, Verdict

__all__ = ["STATUSES", "Catalog", "CatalogError", "Engine", "Recommendation", "Verdict"]
