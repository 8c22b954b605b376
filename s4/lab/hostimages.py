"""Per-host images of the lab: a package layer and a provisioned layer, each cached by recipe hash.

* package layer ``localhost/s4lab/pkg-<host>:<hash>``: the suite's base image plus the host's Debian packages
  (installed with services held back by a policy-rc.d, debconf answers preseeded);
* provisioned layer ``localhost/s4lab/host-<host>:<hash>``: the package layer booted once under systemd, the host's
  provisioning script run in it (vhosts, pools, databases, deterministic seeded client data), then committed.

The provisioned hash covers the package-layer hash, the provisioning files of the host (``lab/provision/common``
and ``lab/provision/<host>.sh``), its parameters (sites, databases, seeds) and its downloaded assets' specs, so an
image is rebuilt only when something it is made of changes. Builds run one at a time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from s4.lab import estate, images, topology

PROVISION_DIR = topology.ROOT / "lab" / "provision"
CACHE_DIR = topology.STATE_DIR / "cache"
APT_CACHE = CACHE_DIR / "apt"
ASSET_CACHE = CACHE_DIR / "assets"
BUILD_PREFIX = "s4lab-build-"
IN_CONTAINER_DIR = "/root/s4lab-provision"
LABEL = "s4lab.image"

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_digests(paths: list[Path]) -> dict[str, str]:
    out = {}
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts) if p.is_dir() else [p]
        for f in files:
            out[str(f.relative_to(PROVISION_DIR))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def provision_files(host: str) -> list[Path]:
    return [PROVISION_DIR / "common", PROVISION_DIR / f"{host}.sh"]


def params(host: str) -> dict[str, Any]:
    """The parameters handed to a host's provisioning script (``params.json`` in the container)."""
    spec = estate.spec(host)
    topo = topology.host(host)
    return {
        "host": host,
        "address": topo.address,
        "suite": topo.suite,
        "hosts": {h.name: h.address for h in topology.HOSTS},
        "subnet": topology.SUBNET,
        "sites": [asdict(s) for s in spec.sites],
        # databases other hosts keep on this one (db-01 creates them with network users)
        "hosted_dbs": [
            dict(asdict(site.db), site=site.name, client=site.client, host=h)
            for h, site in estate.sites_using_db_server(host)
            if site.db and h != host
        ],
        "seed": spec.seed,
        "assets": [list(a) for a in spec.assets],
        "node_version": estate.NODE_VERSION,
    }


def package_hash(host: str) -> str:
    spec = estate.spec(host)
    base = images.base_recipe(topology.host(host).suite)
    return _hash({"base": base.digest(), "packages": sorted(spec.packages), "debconf": list(spec.debconf),
                  "script": _layer_script(host)})


def host_hash(host: str) -> str:
    return _hash(
        {
            "pkg": package_hash(host),
            "files": _file_digests(provision_files(host)),
            "params": params(host),
            "v": 1,
        }
    )


def package_ref(host: str) -> str:
    return f"{topology.IMAGE_REPO}/pkg-{host}:{package_hash(host)}"


def host_ref(host: str) -> str:
    return f"{topology.IMAGE_REPO}/host-{host}:{host_hash(host)}"


def _run(cmd: list[str], *, what: str, capture: bool = True, timeout: int = 1800) -> str:
    res = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, check=False)
    if res.returncode != 0:
        tail = "\n".join(((res.stdout or "") + (res.stderr or "")).strip().splitlines()[-30:])
        raise BuildError(f"{what} failed (exit {res.returncode}):\n{tail}")
    return res.stdout or ""


def _rm_container(name: str) -> None:
    subprocess.run(["podman", "rm", "-f", "-t", "5", name], capture_output=True, check=False)


COMMIT_CHANGES = ["--change", "CMD=/sbin/init", "--change", "STOPSIGNAL=SIGRTMIN+3"]


def _package_script(host: str) -> str:
    spec = estate.spec(host)
    lines = [
        "set -euo pipefail",
        "export DEBIAN_FRONTEND=noninteractive",
        "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d",
    ]
    if spec.debconf:
        sel = "\\n".join(spec.debconf)
        lines.append(f"printf '{sel}\\n' | debconf-set-selections")
    lines += [
        "mkdir -p /usr/share/man/man1",  # the base image excludes man pages; Java's alternatives need the dir
        "apt-get update -q >/dev/null",
        "apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "
        + " ".join(spec.packages)
        + " >/tmp/apt.log 2>&1 || { tail -40 /tmp/apt.log; exit 1; }",
        "rm -f /usr/sbin/policy-rc.d /tmp/apt.log",
    ]
    return "\n".join(lines) + "\n"


# applied to every host's package layer: a place for the lab client key, sshd restricted to the injected key
SSH_SETUP = (
    "install -d -m 700 /root/.ssh && install -d /etc/ssh/sshd_config.d && "
    "printf 'HostKey /etc/ssh/ssh_host_ed25519_key\\nPasswordAuthentication no\\nPermitRootLogin prohibit-password\\n' "
    "> /etc/ssh/sshd_config.d/s4lab.conf"
)


def _layer_script(host: str) -> str:
    return (_package_script(host) if estate.spec(host).packages else "set -e\n") + SSH_SETUP + "\n"


def build_package_layer(host: str, *, log: Log = print) -> str:
    ref = package_ref(host)
    if images.image_exists(ref):
        return ref
    suite = topology.host(host).suite
    base = images.build(images.base_recipe(suite), log=log)
    spec = estate.spec(host)
    name = BUILD_PREFIX + host
    _rm_container(name)
    cache = APT_CACHE / suite
    cache.mkdir(parents=True, exist_ok=True)
    script = _layer_script(host)
    started = time.monotonic()
    log(f"  {host}: installing {len(spec.packages)} packages on {suite}")
    try:
        _run(
            ["podman", "run", "--name", name, "--label", "s4lab.lab=1", "--network", "podman", "-v", f"{cache}:/var/cache/apt/archives:z",
             base, "bash", "-c", script],
            what=f"{host}: package layer",
        )
        _run(["podman", "commit", "-q", *COMMIT_CHANGES, name, ref], what=f"{host}: commit package layer")
    finally:
        _rm_container(name)
    log(f"  {host}: package layer {ref.rsplit(':', 1)[1]} in {time.monotonic() - started:.0f}s")
    return ref


def _npm_asset(spec: str, dest: Path) -> Path:
    name, _, version = spec.rpartition("@")
    out = dest / f"{name}-{version}.tgz"
    if out.exists():
        return out
    if shutil.which("npm") is None:
        raise BuildError(f"npm is needed to fetch {spec} (install nodejs/npm: scripts/bootstrap)")
    with tempfile.TemporaryDirectory(prefix="s4lab-npm-") as tmp:
        _run(["npm", "pack", "--silent", "--pack-destination", tmp, spec], what=f"npm pack {spec}", timeout=300)
        (packed,) = Path(tmp).glob("*.tgz")
        shutil.move(str(packed), out)
    return out


def _wheel_asset(spec: str, dest: Path) -> Path:
    name, _, version = spec.partition("==")
    out = dest / f"{name}-{version}"
    if (out / "bin" / "node").exists():
        return out
    pip = topology.ROOT / ".venv" / "bin" / "pip"
    with tempfile.TemporaryDirectory(prefix="s4lab-whl-") as tmp:
        _run(
            [str(pip) if pip.exists() else "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
             "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "-d", tmp, spec],
            what=f"pip download {spec}", timeout=600,
        )
        (whl,) = Path(tmp).glob("*.whl")
        stage = Path(tmp) / "x"
        with zipfile.ZipFile(whl) as zf:
            zf.extractall(stage)
        nodes = [p for p in stage.rglob("bin/node") if p.is_file()]
        if not nodes:
            raise BuildError(f"{spec}: no bin/node in the wheel")
        root = nodes[0].parent.parent
        tmp_out = dest / (out.name + ".tmp")
        shutil.rmtree(tmp_out, ignore_errors=True)
        shutil.copytree(root, tmp_out, symlinks=True)
        (tmp_out / "bin" / "node").chmod(0o755)
        tmp_out.rename(out)
    return out


def fetch_assets(host: str, *, log: Log = print) -> list[Path]:
    spec = estate.spec(host)
    ASSET_CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, what in spec.assets:
        if kind == "npm":
            out.append(_npm_asset(what, ASSET_CACHE))
        elif kind == "pypi-wheel":
            out.append(_wheel_asset(what, ASSET_CACHE))
        else:
            raise BuildError(f"{host}: unknown asset kind {kind!r}")
    return out


def _wait_systemd(name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        res = subprocess.run(["podman", "exec", name, "systemctl", "is-system-running"], capture_output=True,
                             text=True, check=False)
        state = res.stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    raise BuildError(f"{name}: systemd did not finish booting (state {state!r})")


def build_host_image(host: str, *, log: Log = print) -> str:
    """Build (if missing) and return the provisioned image of ``host``."""
    ref = host_ref(host)
    latest = f"{topology.IMAGE_REPO}/host-{host}:latest"
    if images.image_exists(ref):
        subprocess.run(["podman", "tag", ref, latest], check=True)
        return ref
    started = time.monotonic()
    pkg = build_package_layer(host, log=log)
    assets = fetch_assets(host, log=log)
    name = BUILD_PREFIX + host
    _rm_container(name)
    log(f"  {host}: provisioning")
    try:
        _run(["podman", "run", "-d", "--name", name, "--label", "s4lab.lab=1", "--hostname", host,
              "--network", "podman", "--systemd=always",
              pkg, "/sbin/init"], what=f"{host}: boot for provisioning")
        _wait_systemd(name)
        with tempfile.TemporaryDirectory(prefix="s4lab-prov-") as tmp:
            stage = Path(tmp) / "p"
            shutil.copytree(PROVISION_DIR / "common", stage)
            shutil.copy2(PROVISION_DIR / f"{host}.sh", stage / "host.sh")
            (stage / "params.json").write_text(json.dumps(params(host), indent=1, sort_keys=True))
            assets_dir = stage / "assets"
            assets_dir.mkdir()
            for a in assets:
                if a.is_dir():  # an unpacked runtime: only its binary goes in
                    (assets_dir / a.name / "bin").mkdir(parents=True)
                    shutil.copy2(a / "bin" / "node", assets_dir / a.name / "bin" / "node")
                else:
                    shutil.copy2(a, assets_dir / a.name)
            _run(["podman", "cp", str(stage), f"{name}:{IN_CONTAINER_DIR}"], what=f"{host}: copy provisioning")
        _run(["podman", "exec", "-e", "LC_ALL=C.UTF-8", name, "bash", f"{IN_CONTAINER_DIR}/host.sh"],
             what=f"{host}: provisioning", timeout=1800)
        _run(["podman", "exec", name, "rm", "-rf", IN_CONTAINER_DIR], what=f"{host}: clean up")
        _run(["podman", "stop", "-t", "60", name], what=f"{host}: stop")
        _run(["podman", "commit", "-q", *COMMIT_CHANGES, "--change", f"LABEL {LABEL}={ref}", name, ref],
             what=f"{host}: commit")
    finally:
        _rm_container(name)
    subprocess.run(["podman", "tag", ref, latest], check=True)
    log(f"  {host}: built {ref} in {time.monotonic() - started:.0f}s")
    prune_stale(host, log=log)
    return ref


def prune_stale(host: str, *, log: Log = print) -> list[str]:
    """Remove this host's package/provisioned images of older recipes (those no container uses)."""
    keep = {package_ref(host), host_ref(host), f"{topology.IMAGE_REPO}/host-{host}:latest"}
    removed = []
    for repo in (f"{topology.IMAGE_REPO}/pkg-{host}", f"{topology.IMAGE_REPO}/host-{host}"):
        res = subprocess.run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", repo], capture_output=True,
                             text=True, check=False)
        for ref in res.stdout.split():
            if ref.startswith(repo + ":") and ref not in keep:
                rm = subprocess.run(["podman", "rmi", ref], capture_output=True, text=True, check=False)
                if rm.returncode == 0:
                    removed.append(ref)
    if removed:
        log(f"  {host}: removed {len(removed)} image(s) of older recipes")
    return removed


def build_all(hosts: list[str] | None = None, *, log: Log = print) -> dict[str, str]:
    for suite in topology.SUITES:
        images.build(images.base_recipe(suite), log=log)
    return {h: build_host_image(h, log=log) for h in (hosts or [x.name for x in topology.HOSTS])}
