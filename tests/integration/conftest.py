"""Shared fixtures for integration tests against the running lab (`scripts/lab up`)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from s4.lab import keys, topology


def lab_ssh(host: str, command: str, *, timeout: int = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command`` on lab host ``host`` over SSH with the lab key and pinned host keys."""
    cmd = [*keys.ssh_command(host), command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture(scope="session")
def ssh() -> Callable[..., subprocess.CompletedProcess[str]]:
    if not topology.SSH_KEY.exists():
        pytest.fail("the lab is not up: run scripts/lab up (no .lab/ssh/id_ed25519)")
    return lab_ssh
