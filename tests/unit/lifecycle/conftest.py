"""Fixtures shared by the lifecycle tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def catdir(tmp_path: Path) -> Path:
    """A writable copy of the small curated catalog (tests/unit/lifecycle/fixtures/curated)."""
    d = tmp_path / "catalog"
    d.mkdir()
    for f in (FIX / "curated").iterdir():
        shutil.copy(f, d / f.name)
    return d
