"""Helpers of the state-store tests (unit on SQLite, integration on the lab's PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import traceback
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def facts(host: str, php: str = "8.2.26", wp: str = "6.8.3", when: str = "2026-11-27T10:00:00Z",
          packages: int = 50) -> dict[str, Any]:
    return {"schema": 1, "gathered_at": when, "host": host, "timings": {"total": 0.1},
            "packages": [{"name": f"pkg{i}", "version": f"1.{i}"} for i in range(packages)],
            "components": [{"product": "debian", "version": "12", "kind": "os"},
                           {"product": "php", "version": php, "kind": "runtime"}],
            "sites": [{"name": f"{host}-site", "apps": [{"product": "wordpress", "version": wp}],
                       "libraries": [{"product": "jquery", "version": "3.7.1"}]}]}


def _writer(url: str, worker: int, runs: int, hosts: int, out: Any) -> None:
    """One gather job slice: ``runs`` runs over its own ``hosts`` hosts, each run a fresh open (a new job)."""
    from s4.history import History

    try:
        ids = []
        for r in range(runs):
            with History(url) as h:
                res = h.record_run({f"w{worker}-h{i}": {"status": "ok", "facts": facts(
                    f"w{worker}-h{i}", php=f"8.2.{r if i == 0 else 0}", when=f"2026-11-27T10:{r:02d}:00Z")}
                    for i in range(hosts)}, playbook=f"slice-{worker}")
                ids.append(res.run_id)
        out.put(("ok", worker, ids))
    except BaseException:  # report anything, "database is locked" included
        out.put(("error", worker, traceback.format_exc()))


def run_concurrent_writers(url: str, workers: int = 4, runs: int = 5, hosts: int = 6) -> list[tuple[Any, ...]]:
    """``workers`` processes (separate connections) writing at once, starting together on a possibly new store."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(url, w, runs, hosts, q)) for w in range(workers)]
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return results


def check_concurrent_result(url: str, results: list[tuple[Any, ...]], workers: int = 4, runs: int = 5,
                            hosts: int = 6) -> None:
    from s4.history import History

    errors = [r[2] for r in results if r[0] != "ok"]
    assert not errors, "a writer failed:\n" + "\n".join(errors)
    ids = sorted(i for r in results for i in r[2])
    assert len(ids) == workers * runs and len(set(ids)) == len(ids)
    with History(url) as h:
        runs_rows = h.all_runs()
        assert sorted(r["id"] for r in runs_rows) == ids
        assert all(r["hosts_ok"] == hosts and r["hosts_failed"] == 0 for r in runs_rows)
        for w in range(workers):
            for i in range(hosts):
                host = f"w{w}-h{i}"
                latest = h.latest_facts([host])[host]
                assert latest["host"] == host and latest["gathered_at"] == f"2026-11-27T10:{runs - 1:02d}:00Z"
        st = h.stats()
        assert st["run_hosts"] == workers * runs * hosts
        # host 0 of each slice changed every run (php patch), the others never: dedupe held under concurrency
        assert st["snapshots"] == workers * (runs + hosts - 1)
