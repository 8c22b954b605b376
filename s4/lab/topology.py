"""Static facts of the lab estate shared by the lab, its tests and the Proxmox-compatible server (docs/LAB.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / ".lab"
SSH_DIR = STATE_DIR / "ssh"
SSH_KEY = SSH_DIR / "id_ed25519"
KNOWN_HOSTS = SSH_DIR / "known_hosts"

NETWORK = "s4lab"
SUBNET = "10.89.40.0/24"
GATEWAY = "10.89.40.1"
POC_RANGE = ("10.89.40.100", "10.89.40.199")
CONTAINER_PREFIX = "s4lab-"
IMAGE_REPO = "localhost/s4lab"
SUITES = ("bullseye", "bookworm", "trixie")


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    suite: str
    service: str

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name


HOSTS: tuple[LabHost, ...] = (
    LabHost("mvps-acme-01", "10.89.40.11", "bullseye", "mvps"),
    LabHost("mvps-globex-01", "10.89.40.12", "bullseye", "mvps"),
    LabHost("shared-01", "10.89.40.13", "bookworm", "shared_hosting"),
    LabHost("db-01", "10.89.40.14", "bookworm", "shared_hosting"),
    LabHost("internal-01", "10.89.40.15", "trixie", "internal"),
    LabHost("colo-01", "10.89.40.16", "bookworm", "colocation"),
)
BY_NAME = {h.name: h for h in HOSTS}


def host(name: str) -> LabHost:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown lab host {name!r}; known: {', '.join(BY_NAME)}") from None
