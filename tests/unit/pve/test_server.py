"""The HTTPS front end: envelope, status lines, auth order, CSRF, keep-alive rules, plain-HTTP redirect; and
proxmoxer (unmodified) against it."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException


def login(srv: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(f"{srv['base']}/access/ticket", data=f"username=root@pam&password={srv['secrets']['root@pam']}",
                      verify=srv["ca"], timeout=5)
    assert r.status_code == 200 and "Set-Cookie" not in r.headers
    data: dict[str, Any] = r.json()["data"]
    assert set(data) >= {"username", "ticket", "CSRFPreventionToken", "cap"} and "NeedTFA" not in data
    return data


def test_envelope_and_auth(server: dict[str, Any]) -> None:
    base, ca = server["base"], server["ca"]
    r = requests.get(f"{base}/version", verify=ca, timeout=5)
    assert (r.status_code, r.reason, r.content, r.headers["Connection"]) == (401, "No ticket", b"", "close")
    data = login(server)
    cookie = {"Cookie": f"PVEAuthCookie={data['ticket']}"}
    r = requests.get(f"{base}/version", headers=cookie, verify=ca, timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.json()["data"]["version"].startswith("8.")
    r = requests.put(f"{base}/nodes/pve/qemu/9000/config", data="description=x", headers=cookie, verify=ca, timeout=5)
    assert (r.status_code, r.reason) == (401, "Permission denied - invalid csrf token")
    r = requests.put(f"{base}/nodes/pve/qemu/9000/config?description=from+query", data="description=body",
                     headers={**cookie, "CSRFPreventionToken": data["CSRFPreventionToken"]}, verify=ca, timeout=5)
    assert r.status_code == 200 and r.json() == {"data": None}
    r = requests.get(f"{base}/nodes/pve/qemu/9000/config", headers=cookie, verify=ca, timeout=5)
    assert r.json()["data"]["description"] == "from query"
    r = requests.get(f"{base}/nodes/pve/qemu/9000/config?bogus=1", headers=cookie, verify=ca, timeout=5)
    assert (r.status_code, r.reason) == (400, "Parameter verification failed.")
    assert r.json()["errors"] == {"bogus": "property is not defined in schema and the schema does not allow "
                                           "additional properties"}
    assert r.json()["message"] == "Parameter verification failed.\n"
    r = requests.get(f"{base}/nodes/pve/nope", headers=cookie, verify=ca, timeout=5)
    assert (r.status_code, r.reason) == (501, "Method 'GET /nodes/pve/nope' not implemented")
    r = requests.get(f"{base}/version", headers={"Cookie": f"x=1; PVEAuthCookie={data['ticket'][:-3]}AA=; y=2"},
                     verify=ca, timeout=5)
    assert (r.status_code, r.reason) == (401, "Authentication failed!")
    r = requests.post(f"{base}/access/ticket", data={"username": "root@pam", "password": "bad"}, verify=ca, timeout=5)
    assert (r.status_code, r.reason, r.json()) == (401, "authentication failure",
                                                   {"data": None, "message": "authentication failure\n"})


def test_json_body_and_token(server: dict[str, Any]) -> None:
    auth = {"Authorization": f"PVEAPIToken=root@pam!s4={server['secrets']['root@pam!s4']}"}
    r = requests.put(f"{server['base']}/nodes/pve/qemu/9000/config", json={"onboot": True}, headers=auth,
                     verify=server["ca"], timeout=5)
    assert r.status_code == 200  # token auth needs no CSRF token; JSON true arrives as 1
    r = requests.get(f"{server['base']}/nodes/pve/qemu/9000/config", headers=auth, verify=server["ca"], timeout=5)
    assert r.json()["data"]["onboot"] == 1


def test_plain_http_is_redirected(server: dict[str, Any]) -> None:
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as sock:
        sock.sendall(b"POST /api2/json/version HTTP/1.1\r\nHost: pve:8006\r\n\r\n")
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 308 ") and "Location: https://pve:8006/api2/json/version" in head


@pytest.mark.parametrize("token", [False, True])
def test_proxmoxer(server: dict[str, Any], token: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "REQUESTS_CA_BUNDLE", server["ca"])
    if token:
        px = ProxmoxAPI("127.0.0.1", port=server["port"], user="root@pam", token_name="s4",
                        token_value=server["secrets"]["root@pam!s4"], verify_ssl=True)
    else:
        px = ProxmoxAPI("127.0.0.1", port=server["port"], user="root@pam", password=server["secrets"]["root@pam"],
                        verify_ssl=True)
    assert px.nodes.get()[0]["node"] == "pve"
    px.nodes("pve").qemu(9000).config.put(description="via proxmoxer")  # CSRF header sent by proxmoxer
    with pytest.raises(ResourceException) as exc:
        px.nodes("pve").qemu(9000).clone.post(newid=150, full=True)
    assert exc.value.status_code == 400 and "got 'True'" in exc.value.errors["full"]  # type: ignore[index]


def test_login_failures_limited_per_user_and_address(server: dict[str, Any]) -> None:
    url = f"{server['base']}/access/ticket"
    for _ in range(5):
        r = requests.post(url, data={"username": "root@pam", "password": "bad"}, verify=server["ca"], timeout=5)
        assert r.status_code == 401
    r = requests.post(url, data={"username": "root@pam", "password": server["secrets"]["root@pam"]},
                      verify=server["ca"], timeout=5)
    assert (r.status_code, r.headers["Connection"]) == (429, "close")
    assert r.json()["message"].startswith("too many authentication failures, retry in ")


def test_content_length_must_be_plain_digits(server: dict[str, Any]) -> None:
    import ssl

    ctx = ssl.create_default_context(cafile=server["ca"])
    with socket.create_connection(("127.0.0.1", server["port"]), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(b"PUT /api2/json/nodes/pve/qemu/9000/config HTTP/1.1\r\nHost: pve\r\nContent-Length: -1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400 Bad Request - invalid Content-Length\r\n")
