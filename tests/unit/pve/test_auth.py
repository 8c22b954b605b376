from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from s4.pve import auth
from s4.pve.auth import Authority, Principal
from s4.pve.errors import AuthFailure, PVEError


def test_files_are_private_and_hashed(state_dir: Path) -> None:
    for name in ("realm.json", "secrets.json", "authkey"):
        assert stat.S_IMODE((state_dir / name).stat().st_mode) == 0o600
    realm = (state_dir / "realm.json").read_text()
    secrets = auth.read_secrets(state_dir)
    assert secrets["root@pam"] == "lab-secret"
    assert "lab-secret" not in realm and secrets["root@pam!s4"] not in realm


def test_init_is_idempotent(state_dir: Path) -> None:
    before = (state_dir / "secrets.json").read_text()
    auth.init_realm(state_dir)
    assert (state_dir / "secrets.json").read_text() == before


def test_login_and_renewal(state_dir: Path) -> None:
    a = Authority(state_dir)
    assert a.login("root@pam", "lab-secret") == "root@pam"
    assert a.login("root", "lab-secret", realm="pam") == "root@pam"
    with pytest.raises(PVEError) as exc:
        a.login("root@pam", "nope")
    assert (exc.value.code, exc.value.message) == (401, "authentication failure\n")
    ticket = a.make_ticket("root@pam")
    assert a.login("root@pam", ticket) == "root@pam"  # renewal: the ticket is the password
    with pytest.raises(PVEError):
        a.login("auditor@pve", ticket)  # not another user's ticket


def test_ticket_format_expiry_and_forgery(state_dir: Path) -> None:
    a = Authority(state_dir)
    now = time.time()
    ticket = a.make_ticket("root@pam", now=now)
    assert ticket.startswith(f"PVE:root@pam:{int(now):08X}::")
    assert a.verify_ticket(ticket, now=now + 7000) == "root@pam"
    assert a.verify_ticket(ticket, now=now + 7300) is None
    assert a.verify_ticket(ticket.replace("root@pam", "auditor@pve"), now=now) is None
    assert a.verify_ticket(ticket[:-4] + "AAA=", now=now) is None
    other = Authority.__new__(Authority)
    other.realm, other.key = a.realm, b"another key"
    assert a.verify_ticket(other.make_ticket("root@pam"), now=now) is None


def test_csrf_is_tied_to_the_user(state_dir: Path) -> None:
    a = Authority(state_dir)
    token = a.make_csrf("root@pam")
    assert a.verify_csrf(token, "root@pam")
    assert not a.verify_csrf(token, "auditor@pve")
    assert not a.verify_csrf(None, "root@pam")
    assert not a.verify_csrf(a.make_csrf("root@pam", now=time.time() - 8000), "root@pam")


def test_token_header(state_dir: Path) -> None:
    a = Authority(state_dir)
    secret = auth.read_secrets(state_dir)["root@pam!s4"]
    for header in (f"PVEAPIToken=root@pam!s4={secret}", f"PVEAPIToken root@pam!s4={secret}"):
        assert a.verify_token_header(header) == Principal("root@pam", "s4")
    for bad in (f"PVEAPIToken=root@pam!s4={secret}x", f"PVEAPIToken=root@pam!zz={secret}", "PVEAPIToken=root@pam",
                f"PVEAPIToken=root@pam!1bad={secret}"):
        with pytest.raises(AuthFailure) as exc:
            a.verify_token_header(bad)
        assert exc.value.reason == "Authentication failed!"


def test_privilege_separation(state_dir: Path) -> None:
    a = Authority(state_dir)
    assert a.has(Principal("root@pam", "s4"), "VM.Allocate")  # privsep=0: the user's privileges
    ro = Principal("auditor@pve", "ro")
    assert a.has(ro, "VM.Audit") and not a.has(ro, "VM.Allocate")
    with pytest.raises(PVEError) as exc:
        a.check(ro, "/vms/120", "VM.Allocate")
    assert (exc.value.code, exc.value.reason) == (403, "Permission check failed (/vms/120, VM.Allocate)")
