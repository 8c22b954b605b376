"""Issue #13 finding 12: the lab's Proxmox-compatible API server (s4/pve/server.py, s4/pve/auth.py) against a
hostile client: malformed or oversized Content-Length, password brute force."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from s4.pve import auth, tls
from s4.pve.api import Api
from s4.pve.auth import LoginLimiter
from s4.pve.server import MAX_BODY, serving
from s4.pve.state import State
from s4.pve.tasks import TaskRunner


@pytest.fixture
def pve(tmp_path: Path) -> Iterator[dict[str, Any]]:
    auth.init_realm(tmp_path, root_password="lab-secret")
    tls.ensure_certificates(tmp_path)
    state = State(tmp_path, image_prefix="localhost/s4pvesec")
    api = Api(state, None, TaskRunner(tmp_path, "pve"), container_prefix="s4pvesec-")  # type: ignore[arg-type]
    with serving(api, tmp_path) as port:
        yield {"base": f"https://127.0.0.1:{port}/api2/json", "ca": str(tmp_path / "ca.pem"), "port": port,
               "secrets": auth.read_secrets(tmp_path)}


def _raw(pve: dict[str, Any], head: str, body: bytes = b"", timeout: float = 5.0) -> str:
    """Send one raw HTTPS request; return the status line (a hang raises socket.timeout)."""
    ctx = ssl.create_default_context(cafile=pve["ca"])
    with socket.create_connection(("127.0.0.1", pve["port"]), timeout=timeout) as sock, \
            ctx.wrap_socket(sock, server_hostname="localhost") as tls_sock:
        tls_sock.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n" not in data:
            chunk = tls_sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def _post(length: str) -> str:
    return (f"POST /api2/json/access/ticket HTTP/1.1\r\nHost: pve\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n")


@pytest.mark.parametrize("length", ["-1", "-99999", "+5", "5x", "0x10", " ", "1e3", "１２"])
def test_negative_or_malformed_content_length_is_refused_not_hung(pve: dict[str, Any], length: str) -> None:
    # before: int("-1") passed the size check and rfile.read(-1) waited for EOF (a connection held forever)
    status = _raw(pve, _post(length), b"username=root@pam&password=x")
    assert status.startswith("HTTP/1.1 400 ")


def test_oversized_content_length_is_refused_before_reading(pve: dict[str, Any]) -> None:
    start = time.monotonic()
    status = _raw(pve, _post(str(MAX_BODY + 1)), b"x" * 100)
    assert status.startswith("HTTP/1.1 413 ") and time.monotonic() - start < 3


def test_duplicate_content_length_is_refused(pve: dict[str, Any]) -> None:
    head = _post("5") + "Content-Length: 500\r\n"
    assert _raw(pve, head, b"a=b&c").startswith("HTTP/1.1 400 ")


def test_chunked_body_is_refused(pve: dict[str, Any]) -> None:
    head = ("POST /api2/json/access/ticket HTTP/1.1\r\nHost: pve\r\nTransfer-Encoding: chunked\r\n")
    assert _raw(pve, head, b"5\r\na=b&c\r\n0\r\n\r\n").startswith("HTTP/1.1 411 ")


def test_password_brute_force_is_rate_limited_even_for_the_right_password(pve: dict[str, Any]) -> None:
    url = f"{pve['base']}/access/ticket"
    codes = [requests.post(url, data={"username": "root@pam", "password": f"guess-{i}"}, verify=pve["ca"],
                           timeout=5).status_code for i in range(6)]
    assert codes == [401] * 5 + [429]
    # the right password is not even checked while the limit holds: a brute force learns nothing
    r = requests.post(url, data={"username": "root@pam", "password": pve["secrets"]["root@pam"]}, verify=pve["ca"],
                      timeout=5)
    assert r.status_code == 429 and "ticket" not in r.text
    # another user from the same address is not locked out by it (limit per user and address)
    r = requests.post(url, data={"username": "auditor@pve", "password": pve["secrets"]["auditor@pve"]},
                      verify=pve["ca"], timeout=5)
    assert r.status_code == 200


def test_login_limiter_window_and_reset() -> None:
    lim = LoginLimiter(max_failures=3, window=60)
    for t in (0.0, 1.0, 2.0):
        lim.check("root@pam", "10.0.0.1", now=t)
        lim.failed("root@pam", "10.0.0.1", now=t)
    with pytest.raises(auth.PVEError) as err:
        lim.check("ROOT@pam", "10.0.0.1", now=30.0)  # case does not open a new bucket
    assert err.value.code == 429
    lim.check("root@pam", "10.0.0.2", now=30.0)  # another address has its own count
    lim.check("root@pam", "10.0.0.1", now=60.5)  # the oldest failure left the window
    lim.failed("root@pam", "10.0.0.1", now=61.0)
    lim.succeeded("root@pam", "10.0.0.1")
    lim.check("root@pam", "10.0.0.1", now=61.5)  # a success clears the count


def test_login_limiter_memory_is_bounded() -> None:
    lim = LoginLimiter(max_failures=1, window=60, max_keys=100)
    for i in range(1000):
        lim.failed(f"user{i}@pve", "10.0.0.1", now=1.0)
    assert len(lim._failures) <= 100
