"""Issue #13 finding 8: no generated secret anywhere the toolkit prints or writes, at -vvv.

The suite's playbooks run at -vvv (tests/integration/poc_support.py ``playbook()``), each run appended to the
session log (``session_log_dir()``). This test provisions the acme POC (session fixture, provision + rerun),
gathers, reports, runs the release watch (dry run, then a send whose SMTP password must stay hidden), then collects
every secret:

* the POC's generated database passwords (root-only on its VM: /root/.s4/credentials/*, access.yml) and the ones in the
  POC's rewritten application configs, and the source's own (tenant) database passwords;
* the lab's Proxmox password and API token secret (``scripts/lab pve-env``);
* the release watch's SMTP password;

and greps, as bytes, plain and base64-encoded: the session's playbook logs, reports/ (HTML/JSON/CSV, the POC's
report dir, the release-watch site and outbox), the fact cache, the state stores (raw, and dumped with the snapshots decompressed), the POC
controller state (known_hosts) and the POC inventory. Zero hits; a hit fails naming the file and the secret's name,
never the secret.
"""

from __future__ import annotations

import base64
import re
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from poc_support import INVENTORY_POC, POC_SECRETS_DIR, ROOT, Poc, playbook, pve_env, session_log_dir, vm_exec

WP_PASSWORD = re.compile(r"""define\(\s*['"]DB_PASSWORD['"]\s*,\s*['"]([^'"]+)['"]""")
MIN_LEN = 8  # shorter values would match by chance; every generated secret is longer


def _encodings(value: str) -> dict[str, bytes]:
    """The secret as bytes, plus its base64 forms at the three alignments (a slurp result, a base64 blob)."""
    raw = value.encode()
    out = {"plain": raw}
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + raw)
        # drop the characters that depend on the padding bytes or on what follows the secret
        start = (shift * 8 + 5) // 6
        core = enc[start: len(enc) - 4]
        if len(core) >= MIN_LEN:
            out[f"base64+{shift}"] = core
    return out


def _files(*roots: Path, skip: Iterable[Path] = ()) -> list[Path]:
    skipped = [s.resolve() for s in skip]
    out = []
    for root in roots:
        if root.is_file():
            out.append(root)
            continue
        if not root.is_dir():
            continue
        for p in root.rglob("*"):
            if p.is_file() and not p.is_symlink() and not any(p.resolve().is_relative_to(s) for s in skipped):
                out.append(p)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poc_config_passwords(poc: str) -> list[str]:
    """DB_PASSWORD of every WordPress config on the POC (read through the toolkit's POC inventory entry)."""
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ansible"), poc, "-i", str(INVENTORY_POC / f"{poc}.yml"), "-o",
         "-m", "ansible.builtin.shell", "-a", "cat /etc/wordpress/config-*.php"],
        cwd=ROOT, capture_output=True, text=True, env=pve_env(), timeout=120)
    assert proc.returncode == 0, "cannot read the POC's WordPress configs (output withheld: it holds secrets)"
    return WP_PASSWORD.findall(proc.stdout.replace("\\n", "\n"))


def _collect(acme: Poc, ssh: Callable[..., Any], smtp_password: str) -> dict[str, str]:
    found: dict[str, str] = {}
    assert acme.vmid is not None
    # the POC's secrets live root-only on its VM (never on the controller): read them there to grep for them here
    access = vm_exec(acme.vmid, f"cat {POC_SECRETS_DIR}/access.yml")
    assert access.returncode == 0, "cannot read the POC's access.yml (output withheld)"
    for account, pw in ((yaml.safe_load(access.stdout) or {}).get("database_accounts") or {}).items():
        found[f"access.yml database_accounts.{account} of {acme.name}"] = str(pw)
    listing = vm_exec(acme.vmid, f"cd {POC_SECRETS_DIR}/credentials && for f in *; do echo \"$f $(cat \"$f\")\"; done")
    assert listing.returncode == 0, "cannot read the POC's credential files (output withheld)"
    for line in listing.stdout.splitlines():
        name, _, pw = line.partition(" ")
        if pw:
            found[f"credentials/{name} of {acme.name}"] = pw.split()[0]
    for i, pw in enumerate(_poc_config_passwords(acme.name)):
        found[f"DB_PASSWORD #{i} in the POC's rewritten WordPress configs"] = pw
    src = ssh(acme.source, "cat /etc/wordpress/config-*.php").stdout
    for i, pw in enumerate(WP_PASSWORD.findall(src)):
        found[f"DB_PASSWORD #{i} of the tenant on {acme.source}"] = pw
    env = pve_env()
    for var in ("PVE_PASSWORD", "PVE_TOKEN_SECRET"):
        if env.get(var):
            found[f"lab Proxmox {var}"] = env[var]
    found["release watch SMTP password"] = smtp_password
    return {name: value for name, value in found.items() if len(value) >= MIN_LEN}


@pytest.mark.integration
def test_no_generated_secret_in_any_output_report_fact_cache_or_history(acme: Poc, ssh: Callable[..., Any],
                                                                         tmp_path: Path) -> None:
    # a provision that failed after the VM and its credentials exist is grepped too (its failure report and
    # console output are exactly what must stay clean); one that got nowhere is not a test
    assert acme.runs and acme.vmid is not None, "the acme POC VM was not created"
    env = pve_env()
    for name, extra in (("gather_software.yml", ()), ("eol_report.yml", ()), ("release_watch.yml", ())):
        rc, _, _ = playbook(name, *extra, env=env)
        assert rc == 0, f"{name} failed (see {session_log_dir()})"
    # a send whose SMTP server is down: the password travels through the task and its failure, never printed
    smtp_password = "s4-smtp-" + secrets.token_urlsafe(18)
    send_env = dict(env, S4_SMTP_USERNAME="s4-notices", S4_SMTP_PASSWORD=smtp_password)
    rc, out, _ = playbook("release_watch.yml", "-e", "s4_release_watch_send=true",
                          "-e", "s4_release_watch_smtp_host=127.0.0.1", "-e", f"s4_release_watch_smtp_port={_free_port()}",
                          "-e", "s4_release_watch_smtp_timeout=5", "-e", f"s4_release_watch_dir={tmp_path / 'rw'}",
                          "-e", f"s4_state_url={tmp_path / 'rw.sqlite'}", env=send_env)
    assert rc != 0 and "cannot use SMTP server 127.0.0.1" in out

    found = _collect(acme, ssh, smtp_password)
    assert any(n.startswith("credentials/") or n.startswith("access.yml") for n in found), \
        "no POC credential found to look for"
    assert any("rewritten" in n for n in found), "no DB password found in the POC's app configs"

    cache = ROOT / ".cache"
    # the state stores hold the facts zlib-compressed: grep their decompressed dump too (s4.state.dump_text)
    from s4.state import dump_text, open_store

    for i, url in enumerate((None, tmp_path / "rw.sqlite")):
        store = open_store(url, create=False)
        if store is not None:
            with store:
                (tmp_path / f"state-dump-{i}.txt").write_bytes(dump_text(store))
    places = _files(
        session_log_dir(), ROOT / "reports", cache / "facts", cache / "s4", INVENTORY_POC, tmp_path,
        skip=[cache / "s4" / "test-logs"],
    ) + _files(session_log_dir())
    assert any(p.name == "state.sqlite" for p in places) and any("facts" in p.parts for p in places)
    assert any(p.name == "state-dump-0.txt" for p in places)
    assert any(p.name == "playbooks.log" for p in places)
    patterns = {name: _encodings(value) for name, value in found.items()}
    hits = []
    for path in sorted(set(places)):
        data = path.read_bytes()
        for name, forms in patterns.items():
            for form, needle in forms.items():
                if needle in data:
                    hits.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {name} ({form})")
    assert not hits, "secrets found (values withheld):\n" + "\n".join(hits)


def test_secrets_grep_would_see_a_leak(tmp_path: Path) -> None:
    """The grep itself: a planted secret, plain and base64 at any offset, is found."""
    value = "Zx9-" + secrets.token_hex(8)
    for prefix in (b"", b"a", b"ab", b"abc"):
        blob = base64.b64encode(prefix + b"DB_PASSWORD=" + value.encode() + b";\n")
        assert any(n in blob for n in _encodings(value).values()), prefix
    assert _encodings(value)["plain"] in f"x {value} y".encode()
    planted = tmp_path / "d" / "x.json"
    planted.parent.mkdir()
    planted.write_text(f'{{"p": "{value}"}}')
    assert planted in _files(tmp_path) and planted not in _files(tmp_path, skip=[tmp_path / "d"])
