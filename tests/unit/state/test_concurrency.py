"""Issue #16 point 3: four gather slices writing the SQLite store at once (first open included) lose nothing and
never fail with "database is locked"."""

from __future__ import annotations

import pytest
from statefix import check_concurrent_result, run_concurrent_writers


@pytest.mark.timeout(300)
def test_four_concurrent_writers_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'state.sqlite'}"   # nobody created it: the four race on the first open
    results = run_concurrent_writers(url, workers=4, runs=5, hosts=6)
    check_concurrent_result(url, results, workers=4, runs=5, hosts=6)
    assert not any("locked" in str(r[2]) for r in results)
