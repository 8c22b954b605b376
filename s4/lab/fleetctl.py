"""``scripts/lab up --fleet N`` / ``down --fleet`` / ``status --fleet``: the fleet lab on podman (docs/LAB.md).

Cheap per host: a few shared images ("flavours", ``localhost/s4fleet/flavour-<name>:<hash>``) made once from the
lab's existing images (never rebuilt here) with their heavy daemons disabled and a pool of app trees, front-end
libraries and rolled-back packages under ``/usr/local/share/s4fleet``; then per host only a small overlay at first
boot (host key, client key, a generated script copying its sites out of the pool, its client data, its rolled-back
packages). The lab's own containers (``s4lab-*``) are never touched: fleet containers are ``s4fleet-*`` on the
fleet's network (``s4fleet``, 10.89.41.0/24).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from s4.lab import fleet, hostimages, images, keys, topology

Log = Callable[[str], None]
LABEL_FLEET = "s4fleet.fleet"
LABEL_PLAN = "s4fleet.plan"
CACHE = topology.STATE_DIR / "cache" / "fleet"
KEY_DIR = topology.SSH_DIR / "fleet"
KNOWN_HOSTS = topology.SSH_DIR / "fleet_known_hosts"
BUILD_PREFIX = "s4fleet-build-"
SSH_TIMEOUT = 120.0
WORKERS = 4
# packages rolled back to the suite's point release on "behind" hosts, when the suite's updates changed them
# (not libc, systemd or sshd: rolling those back under a running init is not what a behind host looks like)
BEHIND_CANDIDATES = ("openssl", "libssl1.1", "libssl3", "libssl3t64", "curl", "libcurl4", "libcurl4t64", "sudo",
                     "rsync", "less", "gnupg", "gpgv", "tzdata", "python3.11", "libpython3.11-minimal",
                     "libpython3.11-stdlib", "python3.11-minimal", "python3.9", "libpython3.9-minimal",
                     "libpython3.9-stdlib", "python3.9-minimal", "python3.13", "libpython3.13-minimal",
                     "libpython3.13-stdlib", "python3.13-minimal")


class FleetError(RuntimeError):
    """A problem the operator must fix; the message says what."""


def _podman(*args: str, check: bool = True, stdin: bytes | None = None, timeout: int = 900) -> str:
    res = subprocess.run(["podman", *args], input=stdin, capture_output=True, timeout=timeout, check=False)
    if check and res.returncode != 0:
        text = (res.stdout + res.stderr).decode(errors="replace").strip()[-2000:]
        raise FleetError(f"podman {' '.join(args[:2])} failed (exit {res.returncode}): {text}")
    return res.stdout.decode(errors="replace")


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _image_id(ref: str) -> str:
    if not images.image_exists(ref):
        raise FleetError(f"lab image {ref} is missing: run scripts/lab images (the fleet reuses the lab's images)")
    return _podman("image", "inspect", "--format", "{{.Id}}", ref).strip()


# ---------------------------------------------------------------------------------------------------- the pool
def _extract(image: str, path: str, dest: Path) -> None:
    """Copy ``path`` out of a lab image into ``dest`` (a throw-away container that never runs)."""
    name = f"{BUILD_PREFIX}x-{_digest([image, path])}"
    _podman("rm", "-f", name, check=False)
    _podman("create", "--name", name, "--network", "none", image, "true")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _podman("cp", f"{name}:{path}", str(dest))
    finally:
        _podman("rm", "-f", name, check=False)


def _behind_script(suite: str) -> str:
    cands = " ".join(BEHIND_CANDIDATES)
    return f"""set -eu
apt-get update -q >/dev/null
cd /out
for p in {cands}; do
  inst=$(dpkg-query -W -f='${{Version}}' "$p" 2>/dev/null) || continue
  old=$(apt-cache madison "$p" | awk -F'|' '$3 ~ / {suite}\\/main / {{gsub(/ /, "", $2); print $2; exit}}')
  [ -n "$old" ] || continue
  if dpkg --compare-versions "$old" lt "$inst"; then apt-get download -q "$p=$old" >/dev/null && echo "$p $old < $inst"; fi
done
"""


def stage_pool(*, log: Log = print) -> Path:
    """Assemble the pool on the controller (cached): app trees, libraries, the Node runtime, rolled-back debs.

    Always for every suite: the pool is in every flavour, so a pool that grew with the fleet would rebuild them."""
    pool = CACHE / "pool"
    for kind, (image, path, _sub) in fleet.APPS.items():
        dest = pool / "apps" / kind
        if not dest.exists():
            log(f"  fleet pool: app tree {kind} from {image}:{path}")
            _extract(f"{topology.IMAGE_REPO}/{image}:latest", path, dest)
    hostimages.ASSET_CACHE.mkdir(parents=True, exist_ok=True)
    for lib, versions in fleet.LIBS.items():
        for v in versions:
            dest = pool / "libs" / f"{lib}-{v}"
            if dest.exists():
                continue
            tgz = hostimages._npm_asset(f"{lib}@{v}", hostimages.ASSET_CACHE)  # the lab's one npm fetcher
            with tempfile.TemporaryDirectory(prefix="s4fleet-lib-") as tmp, tarfile.open(tgz) as tf:
                tf.extractall(tmp, filter="data")
                shutil.move(str(Path(tmp) / "package"), dest)
    node = CACHE / "node" / Path(fleet.NODE_DIR).name
    if not node.exists():
        log("  fleet pool: Node.js runtime from the globex lab image")
        _extract(f"{topology.IMAGE_REPO}/host-mvps-globex-01:latest", fleet.NODE_DIR, node)
    for suite in topology.SUITES:
        dest = pool / "behind" / suite
        if (dest / ".done").exists():
            continue
        log(f"  fleet pool: point-release packages of {suite} (missing updates)")
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        name = f"{BUILD_PREFIX}behind-{suite}"
        _podman("rm", "-f", name, check=False)
        try:
            out = _podman("run", "--name", name, "--network", "podman", "-v", f"{dest}:/out:z",
                          f"{topology.IMAGE_REPO}/base-{suite}:latest", "bash", "-c", _behind_script(suite))
        finally:
            _podman("rm", "-f", name, check=False)
        (dest / "versions.txt").write_text(out)
        (dest / ".done").write_text("")
    return pool


def pool_digest(pool: Path) -> str:
    """Names and sizes of the pool's files (a changed pool rebuilds the flavours)."""
    entries = sorted((str(p.relative_to(pool)), p.lstat().st_size) for p in pool.rglob("*"))
    return _digest(entries)


# ----------------------------------------------------------------------------------------------------- flavours
def _flavour_script(f: fleet.Flavour) -> str:
    lines = ["set -eux", f"mkdir -p {fleet.POOL}", f"cp -a /mnt/pool/. {fleet.POOL}/"]
    for unit in f.disable:
        lines.append(f"systemctl disable {shlex.quote(unit)} >/dev/null 2>&1 || true")
        # a unit file of the image's own in /etc/systemd/system cannot be masked: disabled is enough there
        lines.append(f"systemctl mask {shlex.quote(unit)} >/dev/null 2>&1 || [ -f /etc/systemd/system/{shlex.quote(unit)}.service ]")
    if f.node:
        lines.append(f"[ -d {fleet.NODE_DIR} ] || cp -a /mnt/node {fleet.NODE_DIR}")
    # fewer idle workers (memory per host): one process pool per web server instead of the defaults
    lines += [
        "for c in /etc/apache2/mods-available/mpm_*.conf; do [ -f \"$c\" ] && "
        "sed -i -E 's/^(\\s*StartServers\\s+).*/\\11/; s/^(\\s*MinSpareServers\\s+).*/\\11/; "
        "s/^(\\s*MaxSpareServers\\s+).*/\\12/' \"$c\"; done",
        "[ -f /etc/nginx/nginx.conf ] && sed -i -E 's/^worker_processes .*/worker_processes 1;/' "
        "/etc/nginx/nginx.conf || true",
        "rm -f /etc/ssh/ssh_host_* /root/.ssh/authorized_keys",
        # the lab tenants of the source image go: their vhosts, PHP pools, site trees, app configs and uploads
        # (a fleet host serves only its own sites; the layer below keeps the bytes, shared by every host)
        "rm -f /etc/nginx/sites-enabled/* /etc/apache2/sites-enabled/*",
        "for d in /etc/php/*/fpm/pool.d; do [ -d \"$d\" ] && find \"$d\" -name '*.conf' ! -name www.conf -delete; done",
        "rm -rf /srv/www/* /etc/wordpress/config-*.php /var/lib/wordpress/wp-content/uploads",
    ]
    return "\n".join(lines) + "\n"


def flavour_ref(f: fleet.Flavour, pool_hash: str) -> str:
    src = _image_id(f"{topology.IMAGE_REPO}/{f.source}:latest")
    return f"{fleet.IMAGE_REPO}/flavour-{f.name}:" + _digest(
        {"src": src, "pool": pool_hash, "flavour": asdict(f), "script": _flavour_script(f), "v": 1})


def build_flavour(f: fleet.Flavour, pool: Path, pool_hash: str, *, log: Log = print) -> str:
    ref = flavour_ref(f, pool_hash)
    if images.image_exists(ref):
        return ref
    started = time.monotonic()
    name = BUILD_PREFIX + f.name
    _podman("rm", "-f", name, check=False)
    node = CACHE / "node" / Path(fleet.NODE_DIR).name
    try:
        _podman("run", "--name", name, "--network", "none", "-v", f"{pool}:/mnt/pool:ro,z", "-v", f"{node}:/mnt/node:ro,z",
                f"{topology.IMAGE_REPO}/{f.source}:latest", "bash", "-c", _flavour_script(f))
        _podman("commit", "-q", "--change", "CMD=/sbin/init", "--change", "STOPSIGNAL=SIGRTMIN+3",
                "--change", f"LABEL {LABEL_FLEET}=1", name, ref)
    finally:
        _podman("rm", "-f", name, check=False)
    log(f"  flavour {f.name}: built {ref.rsplit(':', 1)[1]} from {f.source} in {time.monotonic() - started:.0f}s")
    return ref


def prune_flavours(current: dict[str, str]) -> int:
    """Remove the images of older flavour recipes; one a container still uses stays (rmi fails) until next time."""
    removed = 0
    for name, ref in current.items():
        repo = f"{fleet.IMAGE_REPO}/flavour-{name}"
        for old in _podman("images", "--format", "{{.Repository}}:{{.Tag}}", repo, check=False).split():
            if old.startswith(repo + ":") and old != ref:
                removed += subprocess.run(["podman", "rmi", old], capture_output=True, check=False).returncode == 0
    return removed


# ------------------------------------------------------------------------------------------------ preflight
INOTIFY_PER_HOST = 6  # systemd 4, dbus 1, journald or a web server now and then: measured 5 per fleet host
INOTIFY_RESERVE = 32  # left for the lab's own hosts, POC VMs and the controller


def inotify_usage(proc: Path = Path("/proc")) -> int:
    """inotify instances held by root's processes now (the containers run as root: they share root's limit)."""
    count = 0
    for fd_dir in proc.glob("[0-9]*/fd"):
        try:
            if fd_dir.parent.stat().st_uid != 0:
                continue
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd) == "anon_inode:inotify":
                        count += 1
                except OSError:
                    continue
        except OSError:
            continue
    return count


def inotify_problem(new_hosts: int, limit: int, used: int) -> str | None:
    """Why ``new_hosts`` more systemd containers would not boot (or would starve the lab), or None."""
    need = new_hosts * INOTIFY_PER_HOST
    if not new_hosts or used + need + INOTIFY_RESERVE <= limit:
        return None
    wanted = 1 << max(10, (used + need + INOTIFY_RESERVE - 1).bit_length())
    return (f"{new_hosts} more systemd containers need about {need} inotify instances; root uses {used} of "
            f"fs.inotify.max_user_instances={limit} (and {INOTIFY_RESERVE} stay free for the lab and POC VMs): "
            f"systemd would fail to boot in the last containers. Raise the limit first, e.g. "
            f"`sysctl -w fs.inotify.max_user_instances={wanted}` (persistently in /etc/sysctl.d/), or ask for fewer hosts")


# ----------------------------------------------------------------------------------------- per-host overlay
def apply_script(h: fleet.FleetHost) -> str:
    """The host's first-boot script: its sites copied out of the pool, client data, rolled-back packages.

    Every value comes from the generator and passed s4/names.py's patterns; it is still quoted."""
    q = shlex.quote
    pool = fleet.POOL
    lines = ["set -eu", f"[ \"$(cat /etc/s4fleet-applied 2>/dev/null)\" = {q(h.digest())} ] && exit 0"]
    if h.behind:
        lines.append(f"ls {pool}/behind/{q(h.suite)}/*.deb >/dev/null 2>&1 && "
                     f"dpkg -i --force-downgrade {pool}/behind/{q(h.suite)}/*.deb >/dev/null 2>&1 || true")
    if fleet.FLAVOUR_BY_NAME[h.flavour].node and not h.node:
        lines.append(f"rm -rf {fleet.NODE_DIR}")
    for s in h.sites:
        src = f"{pool}/apps/{q(s.app)}"
        lines += [f"rm -rf {q(s.root)}", "mkdir -p /srv/www", f"cp -a {src} {q(s.root)}", f"mkdir -p {q(s.docroot)}"]
        for lib, version in s.libs:
            lines.append(f"mkdir -p {q(s.docroot + '/vendor')} && "
                         f"cp -a {pool}/libs/{q(lib + '-' + version)} {q(s.docroot + '/vendor/' + lib)}")
        # small client data: files of a few KiB generated from the site's seed (same seed => same bytes)
        lines.append(
            "python3 -c 'import os,random,sys; r=random.Random(int(sys.argv[2])); d=sys.argv[1]; "
            "os.makedirs(d, exist_ok=True)\n"
            "for k in range(int(sys.argv[3])):\n"
            " open(os.path.join(d, \"upload-%03d.bin\" % k), \"wb\").write(r.randbytes(r.randint(512, 16384)))' "
            f"{q(s.root + '/uploads')} {s.seed} {s.uploads}"
        )
    if h.sites:  # one vhost per site in whichever web server the flavour runs, loaded once systemd is up
        lines.append("timeout 90 systemctl is-system-running --wait >/dev/null 2>&1 || true")
        for s in h.sites:
            nginx = (f"server {{\n    listen 80;\n    server_name {s.domain} www.{s.domain};\n    root {s.docroot};\n"
                     "    index index.php index.html;\n}\n")
            apache = (f"<VirtualHost *:80>\n    ServerName {s.domain}\n    ServerAlias www.{s.domain}\n"
                      f"    DocumentRoot {s.docroot}\n</VirtualHost>\n")
            lines.append(f"[ -d /etc/nginx/sites-enabled ] && printf '%s' {q(nginx)} > "
                         f"{q('/etc/nginx/sites-enabled/' + s.name)} || true")
            lines.append(f"[ -d /etc/apache2/sites-enabled ] && printf '%s' {q(apache)} > "
                         f"{q('/etc/apache2/sites-enabled/' + s.name + '.conf')} || true")
        lines.append("for u in nginx apache2; do systemctl -q is-active $u && systemctl reload $u; done || true")
    lines.append(f"echo {q(h.digest())} > /etc/s4fleet-applied")
    return "\n".join(lines) + "\n"


def _keygen(host: str) -> Path:
    key = KEY_DIR / host / "ssh_host_ed25519_key"
    if not (key.exists() and key.with_suffix(".pub").exists()):
        key.parent.mkdir(parents=True, exist_ok=True)
        key.unlink(missing_ok=True)
        key.with_suffix(".pub").unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host}", "-f", str(key)],
                       check=True)
    return key


def write_known_hosts(hosts: list[fleet.FleetHost]) -> None:
    lines = []
    for h in hosts:
        kind, key = _keygen(h.name).with_suffix(".pub").read_text().split()[:2]
        lines.append(f"{h.address},{h.name} {kind} {key}")
    KNOWN_HOSTS.write_text("\n".join(lines) + "\n")


def _overlay_tar(h: fleet.FleetHost) -> bytes:
    key = _keygen(h.name)
    files = [
        ("etc/ssh/ssh_host_ed25519_key", key.read_bytes(), 0o600),
        ("etc/ssh/ssh_host_ed25519_key.pub", key.with_suffix(".pub").read_bytes(), 0o644),
        ("root/.ssh/authorized_keys", topology.SSH_KEY.with_suffix(".pub").read_bytes(), 0o600),
        ("root/s4fleet-apply.sh", apply_script(h).encode(), 0o700),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ssh_dir = tarfile.TarInfo("root/.ssh")  # the base images have no /root/.ssh: sshd wants it private
        ssh_dir.type, ssh_dir.mode, ssh_dir.mtime = tarfile.DIRTYPE, 0o700, 0
        tf.addfile(ssh_dir)
        for path, data, mode in files:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def plan_label(h: fleet.FleetHost, ref: str) -> str:
    return _digest([h.digest(), apply_script(h), ref, _keygen(h.name).with_suffix(".pub").read_text(),
                    topology.SSH_KEY.with_suffix(".pub").read_text()])


# -------------------------------------------------------------------------------------------- containers
@dataclass
class Result:
    name: str
    action: str  # kept | created | failed
    seconds: float
    detail: str = ""


def ensure_network() -> str:
    res = subprocess.run(["podman", "network", "inspect", fleet.NETWORK], capture_output=True, text=True, check=False)
    if res.returncode == 0:
        subnets = [s.get("subnet") for s in json.loads(res.stdout)[0].get("subnets", [])]
        if fleet.SUBNET not in subnets:
            raise FleetError(f"podman network {fleet.NETWORK} exists with subnets {subnets}, not {fleet.SUBNET}")
        return "reused"
    _podman("network", "create", "--subnet", fleet.SUBNET, "--gateway", fleet.GATEWAY,
            "--label", f"{LABEL_FLEET}=1", fleet.NETWORK)
    return "created"


def _ssh(h: fleet.FleetHost, *cmd: str, timeout: int = 30) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-i", str(topology.SSH_KEY), "-o", f"UserKnownHostsFile={KNOWN_HOSTS}",
            "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=3", "-o", "LogLevel=ERROR", f"root@{h.address}", *cmd]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 255, "", "timeout")


def _wait_ssh(h: fleet.FleetHost, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ssh(h, "true").returncode == 0:
            return True
        time.sleep(1)
    return False


def fleet_containers() -> dict[str, dict[str, str]]:
    """name -> labels of the containers the fleet created (label and name prefix both required)."""
    out = _podman("ps", "-a", "--filter", f"label={LABEL_FLEET}=1", "--format", "json")
    found = {}
    for c in json.loads(out or "[]"):
        name = (c.get("Names") or [""])[0]
        if name.startswith(fleet.CONTAINER_PREFIX) and not name.startswith(BUILD_PREFIX):
            found[name] = dict(c.get("Labels") or {}, state=c.get("State", ""))
    return found


def bring_up(h: fleet.FleetHost, ref: str, existing: dict[str, str] | None) -> Result:
    t0 = time.monotonic()
    label = plan_label(h, ref)
    if existing and existing.get(LABEL_PLAN) == label and existing.get("state") == "running" and _wait_ssh(h, 10):
        return Result(h.name, "kept", time.monotonic() - t0)
    try:
        _podman("rm", "-f", "-t", "5", h.container, check=False)
        _podman("create", "--name", h.container, "--hostname", h.name, "--network", fleet.NETWORK,
                "--ip", h.address, "--systemd=always", "--stop-signal", "SIGRTMIN+3",
                "--label", f"{LABEL_FLEET}=1", "--label", f"{LABEL_PLAN}={label}", ref, "/sbin/init")
        _podman("cp", "-", f"{h.container}:/", stdin=_overlay_tar(h))
        _podman("start", h.container)
        _podman("exec", h.container, "bash", "/root/s4fleet-apply.sh", timeout=600)
        _podman("exec", h.container, "rm", "-f", "/root/s4fleet-apply.sh")
    except (FleetError, subprocess.TimeoutExpired) as exc:
        return Result(h.name, "failed", time.monotonic() - t0, str(exc))
    if not _wait_ssh(h, SSH_TIMEOUT):
        tail = _podman("exec", h.container, "journalctl", "-n", "20", "--no-pager", check=False)
        return Result(h.name, "failed", time.monotonic() - t0, f"no SSH after {SSH_TIMEOUT:.0f}s:\n{tail}")
    return Result(h.name, "created", time.monotonic() - t0)


def up(n: int, seed: int = fleet.DEFAULT_SEED, *, log: Log = print) -> int:
    t0 = time.monotonic()
    plan = fleet.plan(n, seed)
    problems = fleet.validate(plan)
    if problems:
        raise FleetError("fleet plan is invalid:\n" + "\n".join(problems))
    keys.ensure()  # the lab's client key (the fleet trusts the same operator key)
    KEY_DIR.mkdir(parents=True, exist_ok=True)
    used = sorted({h.flavour for h in plan.hosts})
    log(f"fleet: {n} hosts, seed {seed}, flavours {', '.join(used)}")
    pool = stage_pool(log=log)
    pool_hash = pool_digest(pool)
    refs = {name: build_flavour(fleet.FLAVOUR_BY_NAME[name], pool, pool_hash, log=log) for name in used}
    log(f"network {fleet.NETWORK} {ensure_network()}")
    write_known_hosts(list(plan.hosts))
    existing = fleet_containers()
    wanted = {h.container for h in plan.hosts}
    new = len(wanted - {n for n, lab in existing.items() if lab.get("state") == "running"})
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    problem = inotify_problem(new, limit, inotify_usage())
    if problem:
        raise FleetError(problem)
    extra = sorted(set(existing) - wanted)
    if extra:  # a smaller fleet than last time: the CMDB must describe exactly what runs
        _podman("rm", "-f", "-t", "5", *extra)
        log(f"removed {len(extra)} host(s) beyond the first {n}")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool_x:
        results = list(pool_x.map(lambda h: bring_up(h, refs[h.flavour], existing.get(h.container)), plan.hosts))
    failed = [r for r in results if r.action == "failed"]
    for r in failed:
        log(f"host {r.name} failed: {r.detail}")
    actions = {a: sum(r.action == a for r in results) for a in ("kept", "created", "failed")}
    if prune_flavours(refs):
        log("removed flavour images of older recipes")
    created = sorted(r.seconds for r in results if r.action == "created")
    if created:
        log(f"created {len(created)} host(s), {WORKERS} at a time: median {created[len(created) // 2]:.1f}s, "
            f"max {created[-1]:.1f}s each (create, overlay, boot, first-boot script, SSH)")
    path = fleet.write_inventory(plan)
    log(f"wrote {path.relative_to(topology.ROOT)} ({sum(h.in_scope for h in plan.hosts)} in scope, "
        f"{sum(not h.in_scope for h in plan.hosts)} out of scope, {sum(len(h.sites) for h in plan.hosts)} sites)")
    log(f"fleet up: {n - len(failed)}/{n} hosts reachable by SSH in {time.monotonic() - t0:.1f}s "
        f"(kept {actions['kept']}, created {actions['created']}, failed {actions['failed']})")
    return 1 if failed else 0


def down(*, log: Log = print) -> int:
    names = sorted(fleet_containers())
    for i in range(0, len(names), 50):
        _podman("rm", "-f", "-t", "5", *names[i:i + 50])
    log(f"removed {len(names)} fleet container(s)")
    res = subprocess.run(["podman", "network", "inspect", fleet.NETWORK], capture_output=True, text=True, check=False)
    if res.returncode == 0:
        labels = json.loads(res.stdout)[0].get("labels") or {}
        users = _podman("ps", "-a", "--filter", f"network={fleet.NETWORK}", "--format", "{{.Names}}").split()
        if labels.get(LABEL_FLEET) != "1":
            log(f"network {fleet.NETWORK} was not created by the fleet: left alone")
        elif users:
            log(f"network {fleet.NETWORK} kept: still used by {', '.join(users)}")
        else:
            _podman("network", "rm", fleet.NETWORK)
            log(f"removed network {fleet.NETWORK}")
    fleet.remove_inventory()
    KNOWN_HOSTS.unlink(missing_ok=True)
    log("flavour images, pool and host keys kept: the next up --fleet is warm")
    return 0


def _cgroup_memory(cgroup_path: str) -> dict[str, int]:
    """Anonymous memory (what the host's processes hold: the per-host cost) and page cache of one container."""
    for base, anon_key, file_key in (("/sys/fs/cgroup", "anon", "file"),  # cgroup v2
                                     ("/sys/fs/cgroup/memory", "total_rss", "total_cache")):  # v1
        stat = Path(base + cgroup_path) / "memory.stat"
        if stat.is_file():
            values = dict(line.split() for line in stat.read_text().splitlines() if len(line.split()) == 2)
            return {"anon": int(values.get(anon_key, 0)), "cache": int(values.get(file_key, 0))}
    return {}


def measure() -> list[dict[str, Any]]:
    """Memory (cgroup memory.stat: anonymous + page cache) and disk (writable layer) per running fleet host."""
    names = sorted(n for n, lab in fleet_containers().items() if lab.get("state") == "running")
    if not names:
        return []
    rows = []
    for c in json.loads(_podman("container", "inspect", "--size", *names)):
        mem = _cgroup_memory(c.get("State", {}).get("CgroupPath") or "")
        rows.append({"name": c["Name"].lstrip("/"), "anon": mem.get("anon"), "cache": mem.get("cache"),
                     "disk_rw": int(c.get("SizeRw") or 0)})
    return rows


def status(*, log: Log = print) -> int:
    rows = measure()
    conts = fleet_containers()
    log(f"fleet: {len(conts)} container(s), {len(rows)} running")
    mb = 1e6
    for r in rows:
        log(f"  {r['name']:<28} anon {(r['anon'] or 0) / mb:6.1f} MB  page cache {(r['cache'] or 0) / mb:6.1f} MB  "
            f"disk (writable layer) {r['disk_rw'] / mb:6.1f} MB")
    if rows:
        anon = sorted((r["anon"] or 0) / mb for r in rows)
        disk = sorted(r["disk_rw"] / mb for r in rows)
        log(f"per host: anon median {anon[len(anon) // 2]:.1f} MB (max {anon[-1]:.1f}), disk median "
            f"{disk[len(disk) // 2]:.1f} MB (max {disk[-1]:.1f}, total {sum(disk):.0f} MB)")
    return 0 if len(rows) == len(conts) else 1
