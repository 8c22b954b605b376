"""Base images of the lab, built with mmdebstrap and cached by recipe hash.

An image is rebuilt only when its recipe (suite, package list, hooks) changes: the recipe hash is the image tag,
and ``:latest`` points at the current build. ``localhost/s4lab/base-<suite>:latest`` is the contract other parts
(Proxmox-compatible server, molecule) rely on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from s4.lab.topology import IMAGE_REPO, SUITES

MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "iproute2",
    "iputils-ping",
    "ca-certificates",
    "rsync",
    "sudo",
    "procps",
    "less",
    "gnupg",
    "apt-transport-https",
    "locales",
)

# Run against the unpacked root before it is packed: no baked-in SSH host keys (each host gets its own, pinned),
# no getty noise, a stable locale, and APT sources that include the security suite.
BASE_HOOKS = (
    'rm -f "$1"/etc/ssh/ssh_host_*',
    'systemctl --root="$1" mask getty@tty1.service console-getty.service systemd-logind.service >/dev/null 2>&1 || true',
    'systemctl --root="$1" enable ssh.service >/dev/null 2>&1 || true',
    'echo "en_US.UTF-8 UTF-8" > "$1"/etc/locale.gen && chroot "$1" locale-gen >/dev/null',
    'printf "LANG=C.UTF-8\\n" > "$1"/etc/default/locale',
    ': > "$1"/etc/machine-id',
)


@dataclass(frozen=True)
class Recipe:
    name: str
    suite: str
    packages: tuple[str, ...]
    hooks: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        blob = json.dumps(
            {"suite": self.suite, "packages": sorted(self.packages), "hooks": list(self.hooks), "extra": self.extra},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def ref(self) -> str:
        return f"{IMAGE_REPO}/{self.name}:{self.digest()}"

    @property
    def latest(self) -> str:
        return f"{IMAGE_REPO}/{self.name}:latest"


def base_recipe(suite: str) -> Recipe:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    return Recipe(name=f"base-{suite}", suite=suite, packages=BASE_PACKAGES, hooks=BASE_HOOKS)


def image_exists(ref: str) -> bool:
    return subprocess.run(["podman", "image", "exists", ref], check=False).returncode == 0


def _sources(suite: str) -> list[str]:
    security = "http://deb.debian.org/debian-security"
    sec = f"deb {security} {suite}-security main"
    return [f"deb {MIRROR} {suite} main", f"deb {MIRROR} {suite}-updates main", sec]


def build(recipe: Recipe, *, log=print) -> str:
    """Build ``recipe`` unless an image with its hash exists; tag it ``:latest``; return the hashed ref."""
    if not image_exists(recipe.ref):
        if shutil.which("mmdebstrap") is None:
            raise RuntimeError("mmdebstrap is missing: run scripts/bootstrap first")
        log(f"building {recipe.ref} (mmdebstrap {recipe.suite})")
        with tempfile.TemporaryDirectory(prefix="s4lab-img-") as tmp:
            tar = Path(tmp) / "root.tar"
            cmd = [
                "mmdebstrap",
                "--variant=minbase",
                "--quiet",
                "--include=" + ",".join(recipe.packages),
                "--dpkgopt=path-exclude=/usr/share/doc/*",
                "--dpkgopt=path-exclude=/usr/share/man/*",
                "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            ]
            cmd += [f"--customize-hook={h}" for h in recipe.hooks]
            cmd += [recipe.suite, str(tar)]
            cmd += [f"{line}" for line in _sources(recipe.suite)]
            subprocess.run(cmd, check=True)
            subprocess.run(
                ["podman", "import", "--change", "CMD=/sbin/init", "--change", "STOPSIGNAL=SIGRTMIN+3", str(tar), recipe.ref],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    subprocess.run(["podman", "tag", recipe.ref, recipe.latest], check=True)
    return recipe.ref


def build_base_images(suites: tuple[str, ...] = SUITES, *, log=print) -> dict[str, str]:
    return {suite: build(base_recipe(suite), log=log) for suite in suites}


if __name__ == "__main__":
    import sys

    for suite, ref in build_base_images(tuple(sys.argv[1:]) or SUITES).items():
        print(suite, ref)
