"""SSH material of the lab: the client key, one host key per host, and the pinned known_hosts."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from s4.lab import topology

HOSTKEY_DIR = topology.SSH_DIR / "hostkeys"


def _keygen(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)


def host_key(host: str) -> Path:
    return HOSTKEY_DIR / host / "ssh_host_ed25519_key"


def ensure(ssh_dir: Path | None = None) -> None:
    """Create missing keys (existing ones are kept, so host identities survive down/up) and rewrite known_hosts."""
    topology.SSH_DIR.mkdir(parents=True, exist_ok=True)
    topology.SSH_DIR.chmod(0o700)
    _keygen(topology.SSH_KEY, "s4lab-client")
    for h in topology.HOSTS:
        _keygen(host_key(h.name), f"root@{h.name}")
    write_known_hosts()


def known_hosts_text() -> str:
    lines = []
    for h in topology.HOSTS:
        kind, key = host_key(h.name).with_suffix(".pub").read_text().split()[:2]
        lines.append(f"{h.address},{h.name} {kind} {key}")
    return "\n".join(lines) + "\n"


def write_known_hosts() -> None:
    text = known_hosts_text()
    if not topology.KNOWN_HOSTS.exists() or topology.KNOWN_HOSTS.read_text() != text:
        topology.KNOWN_HOSTS.write_text(text)


def fingerprint(host: str) -> str:
    """A short digest of the keys a container of ``host`` is given (its host key + the client key)."""
    blob = host_key(host).with_suffix(".pub").read_bytes() + topology.SSH_KEY.with_suffix(".pub").read_bytes()
    return hashlib.sha256(blob).hexdigest()[:16]


def ssh_command(host: str, *, connect_timeout: int = 10) -> list[str]:
    h = topology.host(host)
    return [
        "ssh",
        "-i", str(topology.SSH_KEY),
        "-o", f"UserKnownHostsFile={topology.KNOWN_HOSTS}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={connect_timeout}",
        "-o", "LogLevel=ERROR",
        f"root@{h.address}",
    ]
