"""POC teardown against the lab, on the session's globex POC (conftest.py).

The file is named to run after every other test_poc*.py file (pytest collects files in name order): the teardown
removes the POC the other files' tests share.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from poc_support import INVENTORY_POC, ROOT, Poc, playbook, podman_names, vm_container

from s4.state import open_store
from s4.state import poc as state_poc

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.destroys_session_poc]


def test_teardown_leaves_nothing_behind(globex: Poc) -> None:
    assert globex.vmid is not None
    rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={globex.name}")
    assert rc == 0, out[-3000:]
    assert vm_container(globex.vmid) not in podman_names()
    assert not (INVENTORY_POC / f"{globex.name}.yml").exists()
    assert not (ROOT / "reports" / "poc" / globex.name).exists()
    assert not (ROOT / ".cache" / "s4" / "poc" / globex.name).exists()
    assert not (Path.home() / ".ssh" / "s4-poc" / globex.name).exists()  # the pinned host key
    store = open_store()
    assert store is not None
    with store:
        assert (state_poc.get(store, globex.name) or {}).get("status") == "torn-down"
        steps = [e.step for e in state_poc.events(store, globex.name)]
    assert steps[0] == "provision" and steps[-1] == "teardown", steps  # the timesheet's record of the POC
    rc, out, recap = playbook("poc_teardown.yml", "-e", f"s4_poc_name={globex.name}")  # rerunnable
    assert rc == 0 and recap["localhost"]["changed"] == 0, out[-3000:]
