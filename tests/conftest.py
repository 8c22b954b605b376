"""Shared fixtures for tests against the running lab (`scripts/lab up`): tests/integration and the lab tests of
tests/security use the same session POCs (one provision per source and session)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
from poc_support import Poc, provisioned  # noqa: E402

from s4.lab import keys, topology  # noqa: E402
from s4.poc.plan import poc_name  # noqa: E402

# POC names carry a stable hash of the exact (client, site or host) pair (s4.poc.plan.poc_name, issue #13 finding 10)
ACME_POC = poc_name("acme", "acme-blog")  # poc-acme-acme-blog-93572f25
GLOBEX_POC = poc_name("globex", "mvps-globex-01")  # poc-globex-mvps-globex-01-1b6568b8


def lab_ssh(host: str, command: str, *, timeout: int = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command`` on lab host ``host`` over SSH with the lab key and pinned host keys."""
    cmd = [*keys.ssh_command(host), command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture(scope="session")
def ssh() -> Callable[..., subprocess.CompletedProcess[str]]:
    if not topology.SSH_KEY.exists():
        pytest.fail("the lab is not up: run scripts/lab up (no .lab/ssh/id_ed25519)")
    return lab_ssh


# POCs shared by the tests of tests/integration/test_poc*.py (one provision per source and session; torn down at the end)
@pytest.fixture(scope="session")
def acme(ssh: Callable[..., Any]) -> Iterator[Poc]:
    yield from provisioned(ssh, ACME_POC, "mvps-acme-01", ["/etc/wordpress", "/var/lib/wordpress"],
                           ["-e", "s4_poc_source=mvps-acme-01", "-e", "s4_poc_site=acme-blog"], reruns=1)


@pytest.fixture(scope="session")
def globex(ssh: Callable[..., Any]) -> Iterator[Poc]:
    yield from provisioned(ssh, GLOBEX_POC, "mvps-globex-01", ["/etc/roundcube", "/srv/www/globex-www"],
                           ["-e", "s4_poc_source=mvps-globex-01"], reruns=0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that destroy a session POC (poc_teardown.yml on the session's globex POC) run after every other test:
    by file order they ran before tests/security's lab tests, which then found no POC to attack."""
    items.sort(key=lambda item: item.get_closest_marker("destroys_session_poc") is not None)


@pytest.fixture()
def state_pg_url() -> Iterator[str]:
    """URL of a fresh database on the lab's PostgreSQL (s4.lab.statedb, started by `scripts/lab up`), dropped after
    the test. Holds the lab password: never print it."""
    import secrets as _secrets

    from s4.lab import statedb

    if not statedb.running():
        pytest.fail("the lab's PostgreSQL for the state store is not running: run scripts/lab up")
    name = f"s4test_{_secrets.token_hex(6)}"
    statedb.create_database(name)
    try:
        yield statedb.url(name)
    finally:
        statedb.drop_database(name)
