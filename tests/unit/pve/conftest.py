"""A recording in-memory backend, so the API logic is tested without podman."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from s4.pve import auth, tls
from s4.pve.api import Api, Ctx
from s4.pve.auth import Authority, Principal
from s4.pve.backend import BackendError, ExecResult
from s4.pve.server import serving
from s4.pve.state import State
from s4.pve.tasks import TaskRunner

IP_JSON = [
    {"ifindex": 1, "ifname": "lo", "address": "00:00:00:00:00:00",
     "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
]


class FakeBackend:
    def __init__(self) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.images: set[str] = {"localhost/s4lab/base-trixie:latest", "localhost/s4lab/base-bookworm:latest"}
        self.calls: list[tuple[Any, ...]] = []
        self.fail: dict[str, str] = {}
        self.execs: list[tuple[str, list[str], str | None]] = []

    def _maybe_fail(self, op: str) -> None:
        if op in self.fail:
            raise BackendError(f"podman {op} failed: {self.fail[op]}")

    def ensure_network(self) -> None:
        pass

    def states(self) -> dict[str, str]:
        return {n: c["state"] for n, c in self.containers.items()}

    def instance_containers(self) -> list[str]:
        return sorted(self.containers)

    def create(self, name: str, image: str, *, hostname: str, ip: str, mac: str, vmid: int) -> None:
        self.calls.append(("create", name, image, ip, mac))
        self._maybe_fail("create")
        if name in self.containers:
            raise BackendError(f"podman create failed: the container name {name!r} is already in use")
        self.containers[name] = {"state": "created", "image": image, "ip": ip, "mac": mac, "hostname": hostname,
                                 "files": {}}

    def set_network(self, name: str, ip: str, mac: str) -> None:
        self.calls.append(("set_network", name, ip, mac))
        self._maybe_fail("network")
        self.containers[name].update(ip=ip, mac=mac)

    def start(self, name: str) -> None:
        self.calls.append(("start", name))
        self._maybe_fail("start")
        self.containers[name]["state"] = "running"

    def stop(self, name: str, timeout: int) -> None:
        self.calls.append(("stop", name))
        self.containers[name]["state"] = "exited"

    def pause(self, name: str) -> None:
        self.containers[name]["state"] = "paused"

    def unpause(self, name: str) -> None:
        self.containers[name]["state"] = "running"

    def restart(self, name: str, timeout: int) -> None:
        self.containers[name]["state"] = "running"

    def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        self.containers.pop(name, None)

    def exec(self, name: str, argv: list[str], stdin: str | None = None, timeout: int = 60) -> ExecResult:
        self.execs.append((name, argv, stdin))
        c = self.containers.get(name)
        if not c or c["state"] != "running":
            return ExecResult(125, "", "container is not running")
        if argv[:2] == ["systemctl", "is-system-running"]:
            return ExecResult(1, "degraded\n", "")
        if argv[0] == "python3":
            return ExecResult(0, "applied\n", "")
        if argv[0] == "ip":
            eth0 = {"ifindex": 2, "ifname": "eth0", "address": c["mac"],
                    "addr_info": [{"family": "inet", "local": c["ip"], "prefixlen": 24}]}
            return ExecResult(0, json.dumps([*IP_JSON, eth0]), "")
        return ExecResult(0, "", "")

    def commit(self, name: str, ref: str) -> str:
        self.calls.append(("commit", name, ref))
        self.images.add(ref)
        return "sha256:" + ref.encode().hex()[:20]

    def flatten(self, source: str, ref: str, *, is_image: bool) -> str:
        self.calls.append(("flatten", source, ref))
        self._maybe_fail("import")
        self.images.add(ref)
        return "id-" + ref

    def image_exists(self, ref: str) -> bool:
        return ref in self.images

    def remove_image(self, ref: str) -> bool:
        self.calls.append(("rmi", ref))
        if ref in self.images:
            self.images.discard(ref)
            return True
        return False

    def untag(self, ref: str) -> None:
        self.calls.append(("untag", ref))
        self.images.discard(ref)

    def used_ips(self) -> set[str]:
        return {c["ip"] for c in self.containers.values()}


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    auth.init_realm(tmp_path, root_password="lab-secret")
    return tmp_path


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def api(state_dir: Path, backend: FakeBackend) -> Api:
    state = State(state_dir, image_prefix="localhost/s4pveunit")
    return Api(state, backend, TaskRunner(state_dir, "pve"), container_prefix="s4pveunit-", boot_timeout=5)


@pytest.fixture
def root(state_dir: Path) -> Ctx:
    return Ctx(Principal("root@pam", via_ticket=True), Authority(state_dir))


@pytest.fixture
def auditor(state_dir: Path) -> Ctx:
    return Ctx(Principal("auditor@pve", "ro"), Authority(state_dir))


@pytest.fixture
def server(state_dir: Path, api: Api) -> Iterator[dict[str, Any]]:
    tls.ensure_certificates(state_dir)
    with serving(api, state_dir) as port:
        yield {"base": f"https://127.0.0.1:{port}/api2/json", "ca": str(state_dir / "ca.pem"), "port": port,
               "secrets": auth.read_secrets(state_dir), "api": api}
