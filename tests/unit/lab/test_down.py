"""`scripts/lab down` removes what the lab created and nothing else (podman calls recorded, not run)."""

from __future__ import annotations

import json
import subprocess

import pytest

from s4.lab import control, topology


class FakePodman:
    def __init__(self, containers, network_labels, network_users):
        self.containers = containers
        self.network_labels = network_labels
        self.network_users = network_users
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args, check=True):
        self.calls.append(args)
        out, rc = "", 0
        if args[:1] == ("ps",) and any("label=" in a for a in args):
            out = "\n".join(self.containers)
        elif args[:1] == ("ps",):
            out = "\n".join(self.network_users)
        elif args[:2] == ("network", "inspect"):
            if self.network_labels is None:
                rc = 125
            else:
                out = json.dumps([{"labels": self.network_labels}])
        return subprocess.CompletedProcess(["podman", *args], rc, out, "")


@pytest.fixture(autouse=True)
def _no_real_podman(monkeypatch, tmp_path):
    monkeypatch.setattr(control, "require_podman", lambda: None)
    monkeypatch.setattr(control, "_pve", lambda: None)
    # the state store's PostgreSQL of the real lab is never touched by these tests
    monkeypatch.setattr(control.statedb, "down", lambda: "statedb down (recorded)")


def _removed(fake):
    return [c for c in fake.calls if c[:1] == ("rm",) or c[:2] == ("network", "rm")]


def test_down_removes_only_lab_containers_and_its_network(monkeypatch):
    fake = FakePodman(["s4lab-db-01", "s4lab-colo-01", "s4lab-build-db-01", "s4lab-build-x", "someone-else"],
                      {control.LABEL_LAB: "1"}, [])
    monkeypatch.setattr(control, "_podman", fake)
    assert control.down(log=lambda m: None) == 0
    rm = _removed(fake)
    assert rm[0][:1] == ("rm",) and set(rm[0][4:]) == {"s4lab-db-01", "s4lab-colo-01", "s4lab-build-db-01"}
    assert rm[1] == ("network", "rm", topology.NETWORK)


def test_down_keeps_a_network_it_did_not_create(monkeypatch):
    fake = FakePodman([], {}, [])
    monkeypatch.setattr(control, "_podman", fake)
    msgs: list[str] = []
    control.down(log=msgs.append)
    assert _removed(fake) == []
    assert any("not created by the lab" in m for m in msgs)


def test_down_keeps_a_network_still_in_use(monkeypatch):
    fake = FakePodman(["s4lab-db-01"], {control.LABEL_LAB: "1"}, ["poc-vm-101"])
    monkeypatch.setattr(control, "_podman", fake)
    msgs: list[str] = []
    control.down(log=msgs.append)
    assert ("network", "rm", topology.NETWORK) not in fake.calls
    assert any("poc-vm-101" in m for m in msgs)


def test_down_without_anything_is_fine(monkeypatch):
    fake = FakePodman([], None, [])
    monkeypatch.setattr(control, "_podman", fake)
    assert control.down(log=lambda m: None) == 0
    assert _removed(fake) == []
