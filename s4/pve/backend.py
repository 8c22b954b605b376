"""Podman backend: a VM's machine is a systemd container on the lab network (docs/PVE.md).

Every call raises BackendError with podman's own error text, so a task log says why an operation failed.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Protocol

from s4.lab import topology

INSTANCE_LABEL = "s4pve.instance"
VMID_LABEL = "s4pve.vmid"


class BackendError(Exception):
    pass


@dataclass
class ExecResult:
    rc: int
    out: str
    err: str


class Backend(Protocol):
    def ensure_network(self) -> None: ...
    def states(self) -> dict[str, str]: ...  # container name -> created|running|paused|exited|...
    def create(self, name: str, image: str, *, hostname: str, ip: str, mac: str, vmid: int) -> None: ...
    def set_network(self, name: str, ip: str, mac: str) -> None: ...
    def start(self, name: str) -> None: ...
    def stop(self, name: str, timeout: int) -> None: ...
    def pause(self, name: str) -> None: ...
    def unpause(self, name: str) -> None: ...
    def restart(self, name: str, timeout: int) -> None: ...
    def remove(self, name: str) -> None: ...
    def exec(self, name: str, argv: list[str], stdin: str | None = None, timeout: int = 60) -> ExecResult: ...
    def commit(self, name: str, ref: str) -> str: ...
    def flatten(self, source: str, ref: str, *, is_image: bool) -> str: ...
    def image_exists(self, ref: str) -> bool: ...
    def remove_image(self, ref: str) -> bool: ...
    def untag(self, ref: str) -> None: ...
    def used_ips(self) -> set[str]: ...
    def instance_containers(self) -> list[str]: ...


class PodmanBackend:
    """Runs podman; containers carry the instance label so one server only ever touches its own."""

    def __init__(self, instance: str, network: str = topology.NETWORK) -> None:
        self.instance = instance
        self.network = network
        self._states_cache: tuple[float, dict[str, str]] | None = None

    def _run(self, args: list[str], *, stdin: str | None = None, timeout: int = 120, check: bool = True
             ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BackendError(f"podman {args[0]} timed out after {timeout}s") from None
        except FileNotFoundError:
            raise BackendError("podman is not installed") from None
        if check and proc.returncode != 0:
            msg = (proc.stderr or proc.stdout).strip().splitlines()
            raise BackendError(f"podman {args[0]} failed: {msg[-1] if msg else 'exit status ' + str(proc.returncode)}")
        return proc

    def _invalidate(self) -> None:
        self._states_cache = None

    def ensure_network(self) -> None:
        if self._run(["network", "exists", self.network], check=False).returncode != 0:
            proc = self._run(["network", "create", "--subnet", topology.SUBNET, "--gateway", topology.GATEWAY,
                              self.network], check=False)
            if proc.returncode != 0 and self._run(["network", "exists", self.network], check=False).returncode != 0:
                raise BackendError(f"cannot create podman network {self.network}: {proc.stderr.strip()}")

    def states(self) -> dict[str, str]:
        now = time.monotonic()
        if self._states_cache and now - self._states_cache[0] < 1.0:
            return dict(self._states_cache[1])
        proc = self._run(["ps", "-a", "--filter", f"label={INSTANCE_LABEL}={self.instance}", "--format", "json"])
        out: dict[str, str] = {}
        for c in json.loads(proc.stdout or "[]"):
            names = c.get("Names") or []
            if names:
                out[names[0]] = str(c.get("State", "unknown")).lower()
        self._states_cache = (now, out)
        return dict(out)

    def instance_containers(self) -> list[str]:
        return sorted(self.states())

    def create(self, name: str, image: str, *, hostname: str, ip: str, mac: str, vmid: int) -> None:
        self._invalidate()
        self._run([
            "create", "--name", name, "--hostname", hostname,
            "--network", f"{self.network}:ip={ip},mac={mac.lower()}",
            "--systemd=always", "--label", f"{INSTANCE_LABEL}={self.instance}", "--label", f"{VMID_LABEL}={vmid}",
            "--cap-add", "AUDIT_WRITE", "--cap-add", "SYS_CHROOT",
            image, "/sbin/init",
        ])

    def set_network(self, name: str, ip: str, mac: str) -> None:
        self._invalidate()
        self._run(["network", "disconnect", self.network, name], check=False)
        self._run(["network", "connect", "--ip", ip, "--mac-address", mac.lower(), self.network, name])

    def start(self, name: str) -> None:
        self._invalidate()
        self._run(["start", name])

    def stop(self, name: str, timeout: int) -> None:
        self._invalidate()
        self._run(["stop", "-t", str(max(0, timeout)), name], timeout=max(30, timeout + 30))

    def pause(self, name: str) -> None:
        self._invalidate()
        self._run(["pause", name])

    def unpause(self, name: str) -> None:
        self._invalidate()
        self._run(["unpause", name])

    def restart(self, name: str, timeout: int) -> None:
        self._invalidate()
        self._run(["restart", "-t", str(max(0, timeout)), name], timeout=max(30, timeout + 30))

    def remove(self, name: str) -> None:
        self._invalidate()
        proc = self._run(["rm", "-f", "-t", "2", name], check=False)
        if proc.returncode != 0 and "no such container" not in proc.stderr.lower():
            raise BackendError(f"podman rm failed: {proc.stderr.strip()}")

    def exec(self, name: str, argv: list[str], stdin: str | None = None, timeout: int = 60) -> ExecResult:
        args = ["exec", *(["-i"] if stdin is not None else []), name, *argv]
        proc = self._run(args, stdin=stdin, timeout=timeout, check=False)
        return ExecResult(proc.returncode, proc.stdout, proc.stderr)

    def commit(self, name: str, ref: str) -> str:
        proc = self._run(["commit", "-q", name, ref], timeout=300)
        return proc.stdout.strip()

    def flatten(self, source: str, ref: str, *, is_image: bool) -> str:
        """A full copy: export the filesystem of ``source`` (a container, or a throwaway container of an image)
        and import it as a new single-layer image ``ref`` that shares nothing with the source."""
        tmp = None
        if is_image:
            tmp = f"{source.replace('/', '_').replace(':', '_')}-export-{int(time.time() * 1000)}"
            self._run(["create", "--name", tmp, "--label", f"{INSTANCE_LABEL}={self.instance}", source, "/sbin/init"])
            source = tmp
        try:
            exp = subprocess.Popen(["podman", "export", source], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                imp = subprocess.run(
                    ["podman", "import", "-q", "--change", "CMD=/sbin/init", "-", ref],
                    stdin=exp.stdout, capture_output=True, text=True, timeout=600,
                )
            finally:
                if exp.stdout:
                    exp.stdout.close()
                exp_err = exp.stderr.read().decode() if exp.stderr else ""
                exp.wait(timeout=60)
            if exp.returncode != 0:
                raise BackendError(f"podman export failed: {exp_err.strip()}")
            if imp.returncode != 0:
                raise BackendError(f"podman import failed: {imp.stderr.strip()}")
            return imp.stdout.strip()
        finally:
            if tmp:
                self._run(["rm", "-f", tmp], check=False)

    def image_exists(self, ref: str) -> bool:
        return self._run(["image", "exists", ref], check=False).returncode == 0

    def remove_image(self, ref: str) -> bool:
        return self._run(["rmi", ref], check=False).returncode == 0

    def untag(self, ref: str) -> None:
        self._run(["untag", ref], check=False)

    def used_ips(self) -> set[str]:
        proc = self._run(["ps", "-a", "--filter", f"network={self.network}", "--format", "{{.ID}}"], check=False)
        ids = proc.stdout.split()
        if not ids:
            return set()
        insp = self._run(["inspect", "--format", "json", *ids], check=False)
        used: set[str] = set()
        try:
            for c in json.loads(insp.stdout or "[]"):
                nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
                ip = (nets.get(self.network) or {}).get("IPAddress")
                if ip:
                    used.add(ip)
        except json.JSONDecodeError:
            pass
        return used
