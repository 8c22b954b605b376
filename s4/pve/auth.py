"""Lab realm, tickets, CSRF tokens, API tokens and privileges (PVE::AccessControl / PVE::Ticket semantics).

Files in the state dir (all mode 0600):

* ``realm.json``: users (scrypt password hashes, roles, enable) and API tokens (sha256 of the secret, privsep,
  roles). Tokens are 128-bit random UUIDs, so a fast hash is enough; passwords get scrypt.
* ``secrets.json``: the clear-text lab credentials, only for ``scripts/lab pve-env`` and the tests.
* ``authkey``: the HMAC key that signs tickets and CSRF tokens (survives restarts, so tickets do too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s4.pve.errors import AuthFailure, PVEError

TICKET_LIFETIME = 7200
TICKET_SKEW = 300  # tickets from up to 5 minutes in the future are accepted (clock skew), as PVE does
USERID_RE = re.compile(r"^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+$")
TOKEN_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.\-_]+$")
LOGIN_MAX_FAILURES = 5      # failed password logins per (user, client address) ...
LOGIN_FAILURE_WINDOW = 60.0  # ... within this many seconds; then 429 until the oldest failure leaves the window
LOGIN_TRACKED_KEYS = 10000  # bound on the limiter's memory (oldest keys are dropped first)

ALL_PRIVS = (
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Pool.Allocate", "Pool.Audit", "Sys.Audit", "Sys.Console", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
    "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
    "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options",
    "VM.Console", "VM.Migrate", "VM.Monitor", "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback",
    "VM.GuestAgent.Audit",
)
ROLES: dict[str, frozenset[str]] = {
    "Administrator": frozenset(ALL_PRIVS),
    "PVEAuditor": frozenset({"Datastore.Audit", "Pool.Audit", "Sys.Audit", "VM.Audit"}),
    "PVEVMUser": frozenset({"VM.Audit", "VM.Console", "VM.PowerMgmt", "VM.Backup", "VM.Config.CDROM",
                            "VM.Config.Cloudinit", "VM.Monitor", "VM.GuestAgent.Audit"}),
    "NoAccess": frozenset(),
}

LAB_USERS: dict[str, tuple[str, ...]] = {
    # userid: roles
    "root@pam": ("Administrator",),
    "auditor@pve": ("PVEAuditor",),
}
LAB_TOKENS: dict[str, tuple[int, tuple[str, ...]]] = {
    # tokenid: (privsep, roles when privsep=1)
    "root@pam!s4": (0, ()),
    "auditor@pve!ro": (1, ("PVEAuditor",)),
}


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "scrypt$16384$8$1$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p),
                            dklen=32)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def hash_token(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def init_realm(state_dir: Path, root_password: str | None = None) -> None:
    """Create realm.json, secrets.json and authkey on first use (existing files are kept)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    realm_file, secrets_file, key_file = state_dir / "realm.json", state_dir / "secrets.json", state_dir / "authkey"
    if not key_file.exists():
        _write_private(key_file, secrets.token_hex(32) + "\n")
    if realm_file.exists() and secrets_file.exists():
        return
    clear: dict[str, str] = {}
    realm: dict[str, Any] = {"users": {}, "tokens": {}}
    for userid, roles in LAB_USERS.items():
        pw = root_password if (userid == "root@pam" and root_password) else secrets.token_urlsafe(18)
        clear[userid] = pw
        realm["users"][userid] = {"password": hash_password(pw), "roles": list(roles), "enable": 1}
    for tokenid, (privsep, roles) in LAB_TOKENS.items():
        secret = str(uuid.uuid4())
        clear[tokenid] = secret
        realm["tokens"][tokenid] = {"secret": hash_token(secret), "privsep": privsep, "roles": list(roles)}
    _write_private(realm_file, json.dumps(realm, indent=2) + "\n")
    _write_private(secrets_file, json.dumps(clear, indent=2) + "\n")


def read_secrets(state_dir: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((state_dir / "secrets.json").read_text())
    return data


class LoginLimiter:
    """Failed-login rate limit per (userid, client address): after ``max_failures`` failures within ``window``
    seconds, further attempts are refused with 429 *before* the password is checked (a brute force makes no
    progress and costs no scrypt), until the oldest failure leaves the window. A successful login clears the key.
    Unknown users are counted like known ones (no user enumeration through the limit)."""

    def __init__(self, max_failures: int = LOGIN_MAX_FAILURES, window: float = LOGIN_FAILURE_WINDOW,
                 max_keys: int = LOGIN_TRACKED_KEYS) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def check(self, userid: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._recent((userid.lower(), address), now)
            if len(q) >= self.max_failures:
                retry = max(1, int(q[0] + self.window - now) + 1)
                raise PVEError(429, f"too many authentication failures, retry in {retry} s")

    def failed(self, userid: str, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        key = (userid.lower(), address)
        with self._lock:
            q = self._recent(key, now)
            if not q:
                if len(self._failures) >= self.max_keys:
                    self._failures.pop(next(iter(self._failures)))
                self._failures[key] = q
            q.append(now)

    def succeeded(self, userid: str, address: str) -> None:
        with self._lock:
            self._failures.pop((userid.lower(), address), None)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (ticket) or an API token (``user@realm!name``)."""

    userid: str
    tokenname: str | None = None
    via_ticket: bool = False

    @property
    def name(self) -> str:
        return f"{self.userid}!{self.tokenname}" if self.tokenname else self.userid


class Authority:
    """Verifies credentials and answers privilege questions for one state dir."""

    def __init__(self, state_dir: Path, limiter: LoginLimiter | None = None) -> None:
        self.state_dir = state_dir
        self.limiter = limiter or LoginLimiter()
        self.realm: dict[str, Any] = json.loads((state_dir / "realm.json").read_text())
        self.key = (state_dir / "authkey").read_text().strip().encode()

    # ---------------------------------------------------------------- signatures
    def _sign(self, text: str) -> str:
        return base64.b64encode(hmac.new(self.key, text.encode(), hashlib.sha256).digest()).decode()

    def make_ticket(self, userid: str, now: float | None = None) -> str:
        plain = f"PVE:{userid}:{int(now if now is not None else time.time()):08X}"
        return f"{plain}::{self._sign(plain)}"

    def make_csrf(self, userid: str, now: float | None = None) -> str:
        stamp = f"{int(now if now is not None else time.time()):08X}"
        return f"{stamp}:{self._sign('CSRF:' + stamp + ':' + userid)}"

    def _age_ok(self, stamp_hex: str, now: float) -> bool:
        try:
            stamp = int(stamp_hex, 16)
        except ValueError:
            return False
        age = now - stamp
        return -TICKET_SKEW < age < TICKET_LIFETIME

    def verify_ticket(self, ticket: str, now: float | None = None) -> str | None:
        """Return the userid of a valid, unexpired ticket, else None."""
        now = time.time() if now is None else now
        m = re.fullmatch(r"(PVE:([^:]+):([0-9A-F]{8}))::(\S+)", ticket)
        if not m:
            return None
        plain, userid, stamp, sig = m.groups()
        if not hmac.compare_digest(sig, self._sign(plain)) or not self._age_ok(stamp, now):
            return None
        user = self.realm["users"].get(userid)
        if not user or not user.get("enable", 1):
            return None
        return userid

    def verify_csrf(self, token: str | None, userid: str, now: float | None = None) -> bool:
        if not token:
            return False
        now = time.time() if now is None else now
        stamp, sep, sig = token.partition(":")
        if not sep or not re.fullmatch(r"[0-9A-F]{8}", stamp):
            return False
        return hmac.compare_digest(sig, self._sign("CSRF:" + stamp + ":" + userid)) and self._age_ok(stamp, now)

    # ---------------------------------------------------------------- login
    def login(self, username: str, password: str, realm: str | None = None, address: str = "-") -> str:
        """Check a password (or a valid ticket of the same user, for renewal); return the userid or raise 401.
        ``address`` is the client's: more than LOGIN_MAX_FAILURES failures of one user from one address within
        LOGIN_FAILURE_WINDOW seconds answer 429 without checking the password."""
        userid = username if "@" in username or not realm else f"{username}@{realm}"
        self.limiter.check(userid, address)
        user = self.realm["users"].get(userid)
        if user and user.get("enable", 1):
            if password.startswith("PVE:") and self.verify_ticket(password) == userid:
                self.limiter.succeeded(userid, address)
                return userid
            if verify_password(password, user["password"]):
                self.limiter.succeeded(userid, address)
                return userid
        self.limiter.failed(userid, address)
        raise PVEError(401, "authentication failure")

    def verify_token_header(self, header: str) -> Principal:
        """``PVEAPIToken=user@realm!name=secret`` (a space may replace the first ``=``)."""
        rest = header.strip()[len("PVEAPIToken"):]
        if not rest or rest[0] not in "= ":
            raise AuthFailure("Authentication failed!")
        full, sep, secret = rest[1:].strip().rpartition("=")
        if not sep:
            raise AuthFailure("Authentication failed!")
        userid, bang, tokenname = full.partition("!")
        if not bang or not TOKEN_NAME_RE.match(tokenname) or not USERID_RE.match(userid):
            raise AuthFailure("Authentication failed!")
        token = self.realm["tokens"].get(full)
        user = self.realm["users"].get(userid)
        if not token or not user or not user.get("enable", 1):
            raise AuthFailure("Authentication failed!")
        if not hmac.compare_digest(hash_token(secret.strip()), token["secret"]):
            raise AuthFailure("Authentication failed!")
        return Principal(userid, tokenname)

    # ---------------------------------------------------------------- privileges
    def privileges(self, who: Principal) -> frozenset[str]:
        user = self.realm["users"].get(who.userid, {})
        privs: set[str] = set()
        for role in user.get("roles", ()):
            privs |= ROLES.get(role, frozenset())
        if who.tokenname:
            token = self.realm["tokens"].get(who.name, {})
            if token.get("privsep", 1):
                tprivs: set[str] = set()
                for role in token.get("roles", ()):
                    tprivs |= ROLES.get(role, frozenset())
                privs &= tprivs
        return frozenset(privs)

    def check(self, who: Principal, path: str, *privs: str, any_of: bool = False) -> None:
        have = self.privileges(who)
        missing = [p for p in privs if p not in have]
        if (any_of and len(missing) == len(privs)) or (not any_of and missing):
            raise PVEError(403, f"Permission check failed ({path}, {'|'.join(privs) if any_of else missing[0]})")

    def has(self, who: Principal, priv: str) -> bool:
        return priv in self.privileges(who)

    def cap(self, who: Principal) -> dict[str, dict[str, int]]:
        have = self.privileges(who)
        groups: dict[str, dict[str, int]] = {"vms": {}, "storage": {}, "nodes": {}, "access": {}, "dc": {}, "sdn": {}}
        for priv in have:
            if priv.startswith("VM."):
                groups["vms"][priv] = 1
            elif priv.startswith("Datastore."):
                groups["storage"][priv] = 1
            elif priv.startswith("Sys."):
                groups["nodes"][priv] = 1
                groups["dc"][priv] = 1
        return groups
