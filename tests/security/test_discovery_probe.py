"""Issue #13 finding 1: discovery must never run, as root, a program a tenant could have written.

The attacker is a hosting client (uid 12345) with a shell in their own account: they plant an executable named like
a runtime (php, node, java ...) where discovery looks for software installed outside the package manager, hoping
the root-run version probe executes it. Each test plants a real x86-64 ELF that writes a marker file when it runs
(and prints a PHP banner / carries an "X-Powered-By: PHP/8.1.2" string like a real php binary), runs discovery over
the tree and asserts the marker was never written and a warning names the file. Other tests plant what a tenant
controls in a docroot (FIFOs, symlinks into another tenant's tree, hostile JSON) and assert discovery neither hangs,
crashes nor reports the other tenant's data.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import shlex
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / ".collections") not in sys.path:
    sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery  # noqa: E402
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_components as comp  # noqa: E402
from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery_sites as st  # noqa: E402

TENANT = 12345
OTHER_TENANT = 23456

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="planting files owned by another uid needs root")


def marker_elf(marker: str, banner: bytes = b"PHP 8.1.2 (cli) (built: Jan  1 2024) ( NTS )\n",
               rodata: bytes = b"X-Powered-By: PHP/8.1.2\x00", runpath: str | None = None) -> bytes:
    """A minimal static x86-64 Linux ELF: open(marker, O_CREAT|O_WRONLY|O_TRUNC) and write "pwned", print
    ``banner`` on stdout, exit 0. ``rodata`` is carried as data (the version string a real binary has).
    ``runpath``: a PT_DYNAMIC with DT_RUNPATH as a dynamically linked build would carry (the kernel ignores it
    here, the file still runs)."""
    base = 0x400000
    phnum = 2 if runpath else 1
    hdr = 64 + 56 * phnum
    code = bytearray()
    fix: list[tuple[int, str]] = []

    def lea(reg: int, label: str) -> None:  # lea reg, [rip + label]
        code.extend(b"\x48\x8d" + bytes([reg]))
        fix.append((len(code), label))
        code.extend(b"\x00\x00\x00\x00")

    code += b"\xb8\x02\x00\x00\x00"  # mov eax, 2 (open)
    lea(0x3D, "path")  # rdi
    code += b"\xbe\x41\x02\x00\x00"  # mov esi, O_WRONLY|O_CREAT|O_TRUNC
    code += b"\xba\xa4\x01\x00\x00"  # mov edx, 0644
    code += b"\x0f\x05"  # syscall
    code += b"\x89\xc7"  # mov edi, eax (fd)
    code += b"\xb8\x01\x00\x00\x00"  # mov eax, 1 (write)
    lea(0x35, "msg")  # rsi
    code += b"\xba\x06\x00\x00\x00\x0f\x05"  # mov edx, 6; syscall
    code += b"\xb8\x01\x00\x00\x00\xbf\x01\x00\x00\x00"  # write(1, banner, len)
    lea(0x35, "banner")
    code += b"\xba" + struct.pack("<I", len(banner)) + b"\x0f\x05"
    code += b"\xb8\x3c\x00\x00\x00\x31\xff\x0f\x05"  # exit(0)
    labels: dict[str, int] = {}
    blob = bytearray()
    for name, val in (("path", marker.encode() + b"\x00"), ("msg", b"pwned\n"), ("banner", banner),
                      ("rodata", rodata)):
        labels[name] = len(code) + len(blob)
        blob += val
    for off, label in fix:
        code[off:off + 4] = struct.pack("<i", labels[label] - (off + 4))
    dyn_phdr = b""
    if runpath:
        strtab = hdr + len(code) + len(blob)
        blob += b"\x00" + runpath.encode() + b"\x00"
        blob += b"\x00" * (-(hdr + len(code) + len(blob)) % 8)
        dyn = hdr + len(code) + len(blob)
        entries = struct.pack("<qQqQqQ", 5, base + strtab, 29, 1, 0, 0)  # DT_STRTAB, DT_RUNPATH, DT_NULL
        blob += entries
        dyn_phdr = struct.pack("<IIQQQQQQ", 2, 6, dyn, base + dyn, base + dyn, len(entries), len(entries), 8)
    size = hdr + len(code) + len(blob)
    ehdr = (b"\x7fELF\x02\x01\x01" + b"\x00" * 9
            + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, base + hdr, 64, 0, 0, 64, 56, phnum, 0, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return ehdr + phdr + dyn_phdr + bytes(code + blob)


needs_x86_64 = pytest.mark.skipif(platform.machine() != "x86_64", reason="the planted ELF is x86-64 code")


def _dirs(path: Path, mode: int = 0o755, uid: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    os.chown(path, uid, uid)
    return path


def _plant(path: Path, marker: Path, uid: int = 0, mode: int = 0o755, **kw: Any) -> Path:
    path.write_bytes(marker_elf(str(marker), **kw))
    path.chmod(mode)
    os.chown(path, uid, uid)
    return path


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A host tree: / and /home, /opt owned by root, mode 0755 (discovery treats it as /)."""
    root = _dirs(tmp_path / "root")
    _dirs(root / "home")
    _dirs(root / "opt")
    return root


def _gather(root: Path) -> dict[str, Any]:
    return s4_discovery.Gatherer({"root": str(root), "binary_search_paths": ["/home", "/opt"], "sites": [],
                                  "include_packages": False}).gather()


def _php(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in facts["components"] if c["product"] == "php" and c["source"] == "binary"]


@needs_x86_64
def test_tenant_planted_php_in_home_is_not_executed_as_root(host: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = _dirs(host / "home" / "evil", 0o755, TENANT)
    php = _plant(_dirs(evil / "bin", 0o755, TENANT) / "php", marker, uid=TENANT)
    facts = _gather(host)
    assert not marker.exists(), "the tenant's php ran as root"
    warn = [w for w in facts["warnings"] if "/home/evil/bin/php" in w]
    assert warn and "not executed" in warn[0] and f"uid {TENANT}" in warn[0]
    # still identified, by reading only
    [c] = _php(facts)
    assert (c["version"], c["detected_by"], c["path"]) == ("8.1.2", "elf-strings", str(php))
    assert c["details"]["owner_uid"] == TENANT


@needs_x86_64
def test_root_owned_php_in_world_writable_directory_is_not_executed(host: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    drop = _dirs(host / "opt" / "drop", 0o777)
    _plant(drop / "php", marker)
    facts = _gather(host)
    assert not marker.exists(), "a binary any user could have replaced ran as root"
    assert any("/opt/drop/php" in w and "group/world-writable" in w and "not executed" in w
               for w in facts["warnings"]), facts["warnings"]


@needs_x86_64
def test_root_owned_group_writable_php_is_not_executed(host: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _plant(_dirs(host / "opt" / "php81" / "bin") / "php", marker, mode=0o775)
    facts = _gather(host)
    assert not marker.exists(), "a group-writable binary ran as root"
    assert any("/opt/php81/bin/php" in w and "file is group/world-writable" in w for w in facts["warnings"])


@needs_x86_64
def test_root_owned_php_below_a_tenant_owned_directory_is_not_executed(host: Path, tmp_path: Path) -> None:
    """The tenant owns /home/evil: they can rename bin/ away and put their own in its place at any time."""
    marker = tmp_path / "pwned"
    evil = _dirs(host / "home" / "evil", 0o755, TENANT)
    _plant(_dirs(evil / "bin") / "php", marker)
    facts = _gather(host)
    assert not marker.exists(), "a binary below a tenant's directory ran as root"
    assert any("/home/evil/bin/php" in w and f"owned by uid {TENANT}" in w for w in facts["warnings"])


@needs_x86_64
def test_root_owned_php_loading_libraries_from_a_world_writable_runpath_is_not_executed(
        host: Path, tmp_path: Path) -> None:
    """The binary is protected but its RUNPATH ($ORIGIN/../lib) is not: a tenant drops libc.so.6 there."""
    marker = tmp_path / "pwned"
    prefix = _dirs(host / "opt" / "php81")
    _dirs(prefix / "lib", 0o777)
    php = _plant(_dirs(prefix / "bin") / "php", marker, runpath="$ORIGIN/../lib")
    fd = os.open(php, os.O_RDONLY)
    try:
        assert comp.elf_load_refs(fd) == (None, ["$ORIGIN/../lib"])
    finally:
        os.close(fd)
    facts = _gather(host)
    assert not marker.exists(), "a binary whose library directory any user can write ran as root"
    assert any("/opt/php81/bin/php not executed" in w and "RPATH/RUNPATH $ORIGIN/../lib" in w
               and "group/world-writable" in w for w in facts["warnings"]), facts["warnings"]
    (prefix / "lib").chmod(0o755)  # the same binary with a protected library directory is run
    facts = _gather(host)
    assert marker.exists() and [c["detected_by"] for c in _php(facts)] == ["probe-root"]


@needs_x86_64
def test_symlink_with_a_runtime_name_to_a_tenant_file_is_not_executed(host: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = _dirs(host / "home" / "evil", 0o755, TENANT)
    target = _plant(_dirs(evil / "build", 0o755, TENANT) / "php-build", marker, uid=TENANT)
    link = _dirs(host / "opt" / "app" / "bin") / "php"
    link.symlink_to(target)
    facts = _gather(host)
    assert not marker.exists(), "the symlink's tenant-owned target ran as root"
    assert any(w.startswith(f"binary {link} (-> {target}): symlink target not executed") and f"uid {TENANT}" in w
               for w in facts["warnings"]), facts["warnings"]
    assert _php(facts) == []  # an untrusted link target is not even read


@needs_x86_64
def test_protected_root_owned_php_is_still_probed(host: Path, tmp_path: Path) -> None:
    """The positive case: a root-owned binary in root-owned 0755 directories is run (with a clean environment
    and cwd /) and its version reported."""
    marker = tmp_path / "ran"
    php = _plant(_dirs(host / "opt" / "php81" / "bin") / "php", marker)
    link = _dirs(host / "opt" / "current" / "bin") / "php"
    link.symlink_to(php)
    facts = _gather(host)
    assert marker.read_text() == "pwned\n"  # it ran (exactly once: the link resolves to the same file)
    [c] = _php(facts)
    assert (c["version"], c["detected_by"], c["path"]) == ("8.1.2", "probe-root", str(php))
    assert not [w for w in facts["warnings"] if "/opt/" in w], facts["warnings"]


def test_probe_environment_is_empty_of_loader_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LD_PRELOAD (or anything else) in the module's environment never reaches a probe; cwd is /."""
    monkeypatch.setenv("LD_PRELOAD", "/home/evil/evil.so")
    monkeypatch.setenv("PYTHONSTARTUP", "/home/evil/x.py")
    out, err = comp.run_probe(["/usr/bin/env"], 5)
    assert err is None
    assert "LD_PRELOAD" not in out and "PYTHONSTARTUP" not in out and "PATH=/usr/sbin:/usr/bin:/sbin:/bin" in out
    out, err = comp.run_probe(["/bin/pwd"], 5)
    assert (out, err) == ("/\n", None)


def test_tenant_java_is_identified_from_its_release_file_without_running_it(host: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    jdk = _dirs(host / "home" / "evil" / "jdk-17", 0o755, TENANT)
    (jdk / "release").write_text('IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="17.0.9"\n')
    os.chown(jdk / "release", TENANT, TENANT)
    if platform.machine() == "x86_64":
        _plant(_dirs(jdk / "bin", 0o755, TENANT) / "java", marker, uid=TENANT)
    else:
        pytest.skip("the planted ELF is x86-64 code")
    facts = _gather(host)
    assert not marker.exists()
    [java] = [c for c in facts["components"] if c["product"] == "java"]
    assert (java["version"], java["detected_by"], java["evidence"]) == (
        "17.0.9", "metadata", 'release: JAVA_VERSION="17.0.9"')


def test_tenant_release_file_symlinked_to_another_tree_is_not_read(host: Path, tmp_path: Path) -> None:
    secret = _dirs(host / "home" / "victim", 0o700, OTHER_TENANT) / "release"
    secret.write_text('JAVA_VERSION="99.0.1"\n')
    os.chown(secret, OTHER_TENANT, OTHER_TENANT)
    jdk = _dirs(host / "home" / "evil" / "jdk", 0o755, TENANT)
    (jdk / "release").symlink_to(secret)
    (_dirs(jdk / "bin", 0o755, TENANT) / "java").write_bytes(b"\x7fELF" + b"\x00" * 60)
    os.chmod(jdk / "bin" / "java", 0o755)
    os.chown(jdk / "bin" / "java", TENANT, TENANT)
    facts = _gather(host)
    assert not [c for c in facts["components"] if c["product"] == "java"]
    assert not any("99.0.1" in json.dumps(x) for x in (facts["components"], facts["warnings"]))


# ---------------------------------------------------------------------------------------------------------------
# tenant content of docroots and install trees


def _in_thread(fn: Callable[[], Any], timeout: float = 10) -> tuple[bool, Any]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if "error" in box:
        raise box["error"]
    return t.is_alive(), box.get("value")


def _unblock(fifo: Path) -> None:
    """Open the FIFO's write end (non-blocking) so a reader stuck in open() returns; best effort."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


def test_fifo_planted_as_tomcat_release_notes_does_not_hang_discovery(tmp_path: Path) -> None:
    home = tmp_path / "tomcat"
    (home / "bin").mkdir(parents=True)
    os.mkfifo(home / "RELEASE-NOTES")
    try:
        hung, result = _in_thread(lambda: comp.tomcat_component(str(home)))
    finally:
        _unblock(home / "RELEASE-NOTES")
    assert not hung and result is None


def test_wordpress_marker_symlinked_into_another_tenants_tree_is_not_read(tmp_path: Path) -> None:
    victim = _dirs(tmp_path / "victim" / "site", 0o755, OTHER_TENANT)
    _dirs(victim / "wp-includes", 0o755, OTHER_TENANT)
    (victim / "wp-includes" / "version.php").write_text("<?php\n$wp_version = '9.9.9-victim';\n")
    os.chown(victim / "wp-includes" / "version.php", OTHER_TENANT, OTHER_TENANT)
    evil = _dirs(tmp_path / "evil" / "site", 0o755, TENANT)
    (evil / "wp-includes").symlink_to(victim / "wp-includes")
    os.lchown(evil / "wp-includes", TENANT, TENANT)
    apps, _libs, _walk, _warns = st.walk_docroot(str(evil), 8, 1000, float("inf"))
    assert not any(a.get("version") == "9.9.9-victim" for a in apps)


def test_app_files_symlinked_to_a_root_owned_package_tree_are_still_read(tmp_path: Path) -> None:
    """Debian's roundcube: /var/lib/roundcube/program -> /usr/share/roundcube/program (root-owned)."""
    pkg = _dirs(tmp_path / "usr" / "share" / "roundcube" / "program" / "include")
    (pkg / "iniset.php").write_text("<?php\ndefine('RCMAIL_VERSION', '1.4.15');\n")
    site = _dirs(tmp_path / "var" / "lib" / "roundcube")
    (site / "program").symlink_to(pkg.parent)
    apps, _libs, _walk, _warns = st.walk_docroot(str(site), 8, 1000, float("inf"))
    assert [(a["product"], a["version"]) for a in apps] == [("roundcube", "1.4.15")]


def test_package_lock_symlinked_to_another_tenant_is_not_read(tmp_path: Path) -> None:
    victim = _dirs(tmp_path / "www" / "victim", 0o755, OTHER_TENANT)
    (victim / "package-lock.json").write_text(json.dumps(
        {"packages": {"node_modules/victim-private-lib": {"version": "6.6.6"}}}))
    os.chown(victim / "package-lock.json", OTHER_TENANT, OTHER_TENANT)
    evil = _dirs(tmp_path / "www" / "evil", 0o755, TENANT)
    _dirs(evil / "public", 0o755, TENANT)
    (evil / "package-lock.json").symlink_to(victim / "package-lock.json")
    apps, libs, _walk, _warns = st.walk_docroot(str(evil / "public"), 8, 1000, float("inf"))
    assert "victim-private-lib" not in json.dumps([apps, libs])


def test_tenant_docroot_symlinked_into_another_tenants_home_is_not_walked(tmp_path: Path) -> None:
    victim = _dirs(tmp_path / "home" / "victim", 0o755, OTHER_TENANT)
    site = _dirs(victim / "public_html", 0o755, OTHER_TENANT)
    (site / "wp-includes").mkdir()
    (site / "wp-includes" / "version.php").write_text("<?php\n$wp_version = '6.4.1';\n")
    evil = _dirs(tmp_path / "home" / "evil", 0o755, TENANT)
    link = evil / "public_html"
    link.symlink_to(site)
    os.lchown(link, TENANT, TENANT)
    apps, _libs, walk, warns = st.walk_docroot(str(link), 8, 1000, float("inf"))
    assert apps == [] and walk["files"] == 0
    assert warns == [f"docroot {link} not walked: symlink {link} (owner uid {TENANT}) leads to {site} "
                     f"owned by uid {OTHER_TENANT}"]


def test_deeply_nested_composer_lock_does_not_crash_discovery(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "composer.lock").write_text("[" * 200000 + "]" * 200000)
    apps, _libs, _walk, warns = st.walk_docroot(str(site), 8, 1000, float("inf"))
    assert apps == [] and any("composer.lock not valid JSON" in w for w in warns)


def test_package_lock_with_non_string_names_does_not_crash_discovery(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "package-lock.json").write_text(json.dumps({
        "packages": {"node_modules/a": {"name": ["x"], "version": "1.0.0"},
                     "node_modules/b": {"version": {"nested": 1}},
                     "node_modules/jquery": {"version": "3.7.1"}},
        "dependencies": {"c": {"version": ["1"]}}}))
    apps, libs, _walk, _warns = st.walk_docroot(str(site), 8, 1000, float("inf"))
    assert [(x["product"], x["version"]) for x in libs] == [("jquery", "3.7.1")]
    [npm] = apps
    assert npm["details"]["packages"] == [{"name": "jquery", "version": "3.7.1"}]


# ---------------------------------------------------------------------------------------------------------------
# on a lab host, through Ansible

LAB_HOST = "mvps-acme-01"
LAB_MARKER = "/tmp/s4-pwned"  # noqa: S108 - a path on the lab host


@pytest.mark.integration
@needs_x86_64
def test_tenant_planted_php_on_a_lab_host_is_not_executed_as_root(ssh: Callable[..., Any]) -> None:
    elf = base64.b64encode(marker_elf(LAB_MARKER)).decode()
    ssh(LAB_HOST, f"rm -f {LAB_MARKER}; mkdir -p /home/evil/bin && echo {elf} | base64 -d > /home/evil/bin/php"
                  " && chmod 755 /home/evil/bin/php && chown -R 12345:12345 /home/evil")
    try:
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1")
        env.pop("ANSIBLE_CACHE_PLUGIN_CONNECTION", None)
        args = "host=mvps-acme-01 include_packages=false binary_search_paths=/home,/opt,/usr/local"
        p = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible"), LAB_HOST, "-m", "smartt.s4.software_facts",
                            "-a", args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        result = json.loads(p.stdout)["plays"][0]["tasks"][0]["hosts"][LAB_HOST]
        facts = result["ansible_facts"]["s4_software"]
        marker = ssh(LAB_HOST, f"cat {shlex.quote(LAB_MARKER)} 2>/dev/null || echo absent").stdout.strip()
        assert marker == "absent", "the tenant's /home/evil/bin/php ran as root on the lab host"
        warn = [w for w in facts["warnings"] if w.startswith("binary /home/evil/bin/php not executed")]
        assert warn and "owner uid 12345" in warn[0], facts["warnings"]
        php = [c for c in facts["components"] if c["path"] == "/home/evil/bin/php"]
        assert [(c["product"], c["version"], c["detected_by"]) for c in php] == [("php", "8.1.2", "elf-strings")]
    finally:
        ssh(LAB_HOST, f"rm -rf /home/evil {LAB_MARKER}", check=False)
