"""HTTPS front end (stdlib ThreadingHTTPServer + ssl), envelope and authentication as pveproxy does them.

* TLS is negotiated in the connection's own thread (a stalled or plain-HTTP client never blocks the listener);
  a plain-HTTP request gets pveproxy's redirect (301 for GET/HEAD, 308 otherwise) to the https URL.
* ``{"data": ...}`` envelopes, ``<code> <reason>`` status lines, no ``Set-Cookie`` ever, keep-alive for
  successes and ``Connection: close`` after any response >= 400.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from s4.pve import schema
from s4.pve.api import Api, Ctx
from s4.pve.auth import Authority, Principal
from s4.pve.errors import AuthFailure, PVEError

log = logging.getLogger("s4.pve")
PREFIX = "/api2/json"
MAX_BODY = 16 * 1024 * 1024  # bytes of a request body (PUT/POST); more is refused with 413 before reading


def _cookie_ticket(header: str | None) -> str | None:
    """Everything after ``PVEAuthCookie=`` (or a space) up to the next ``;``, URL-unescaped (pveproxy's rule)."""
    if not header:
        return None
    idx = header.find("PVEAuthCookie")
    if idx < 0:
        return None
    rest = header[idx + len("PVEAuthCookie"):]
    if not rest or rest[0] not in "= ":
        return None
    value = rest[1:].split(";", 1)[0].strip()
    return unquote(value) or None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    server: PVEServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.client_address[0], format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # the request line never carries secrets (tickets travel in headers, passwords in bodies)
        log.info('%s "%s" %s', self.client_address[0], self.requestline, code)

    # ------------------------------------------------------------------ output
    def _send(self, code: int, reason: str, body: bytes | None, close: bool) -> None:
        self.send_response(code, reason.replace("\r", " ").replace("\n", " "))
        if body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        self.send_header("Expires", self.date_time_string())
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _ok(self, data: Any) -> None:
        if isinstance(data, tuple):
            payload: dict[str, Any] = {"data": data[0], "total": data[1]}
        else:
            payload = {"data": data}
        self._send(200, "OK", json.dumps(payload).encode(), close=False)

    def _error(self, err: PVEError, with_body: bool = True) -> None:
        if not with_body:
            self._send(err.code, err.reason, b"", close=True)
            return
        payload: dict[str, Any] = {"data": None, "message": err.message}
        if err.errors:
            payload["errors"] = err.errors
        self._send(err.code, err.reason, json.dumps(payload).encode(), close=True)

    # ------------------------------------------------------------------ input
    def _body(self) -> bytes:
        """The request body, by a strict Content-Length: digits only (a negative length once made ``read(-n)``
        wait for EOF), one value, at most MAX_BODY; chunked bodies are not accepted (pveproxy needs a length)."""
        if self.headers.get("Transfer-Encoding"):
            raise PVEError(411, "Length Required")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return b""
        text = values[0].strip()
        if len(values) > 1 or not text.isdigit() or not text.isascii() or len(text) > 12:
            raise PVEError(400, "Bad Request - invalid Content-Length")
        length = int(text)
        if length > MAX_BODY:
            raise PVEError(413, "Request Entity Too Large")
        return self.rfile.read(length) if length else b""

    def _authenticate(self) -> Principal:
        auth_header = self.headers.get("Authorization")
        authority = self.server.authority
        if auth_header and auth_header.strip().startswith("PVEAPIToken"):
            return authority.verify_token_header(auth_header)
        ticket = _cookie_ticket(self.headers.get("Cookie")) or _cookie_ticket(auth_header)
        if not ticket:
            raise AuthFailure("No ticket")
        userid = authority.verify_ticket(ticket)
        if userid is None:
            raise AuthFailure("Authentication failed!")
        if self.command != "GET" and not authority.verify_csrf(self.headers.get("CSRFPreventionToken"), userid):
            raise AuthFailure("Permission denied - invalid csrf token")
        return Principal(userid, via_ticket=True)

    def _ticket(self, params: dict[str, Any]) -> dict[str, Any]:
        props = {"username": schema.req(max_length=64), "password": schema.req(), "realm": schema.opt(),
                 "otp": schema.opt(), "tfa-challenge": schema.opt(), "path": schema.opt(), "privs": schema.opt(),
                 "new-format": schema.opt("boolean")}
        p = schema.validate(params, props)
        authority = self.server.authority
        userid = authority.login(p["username"], p["password"], p.get("realm"), address=self.client_address[0])
        who = Principal(userid, via_ticket=True)
        return {"username": userid, "ticket": authority.make_ticket(userid),
                "CSRFPreventionToken": authority.make_csrf(userid), "cap": authority.cap(who)}

    def _handle(self) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        try:
            if not path.startswith(PREFIX + "/") and path != PREFIX:
                raise PVEError(501, f"Method '{self.command} {path}' not implemented")
            rel = path[len(PREFIX):] or "/"
            rel = rel.rstrip("/") or "/"
            body = self._body()  # read (and checked) for every method, so no stray bytes stay on a kept-alive socket
            if self.command not in ("POST", "PUT"):
                body = b""
            query = schema.parse_form(url.query) if url.query else {}
            params = schema.merge_params(schema.parse_body(body, self.headers.get("Content-Type")), query, {})
            if rel == "/access/ticket":
                if self.command == "GET":
                    self._ok(None)
                    return
                if self.command == "POST":
                    self._ok(self._ticket(params))
                    return
            try:
                who = self._authenticate()
            except AuthFailure as exc:
                time.sleep(self.server.auth_delay)
                self._error(exc, with_body=False)
                return
            data = self.server.api.dispatch(self.command, rel, Ctx(who, self.server.authority), params)
            self._ok(data)
        except PVEError as exc:
            if exc.code in (401, 429) and path.endswith("/access/ticket"):
                time.sleep(self.server.auth_delay)
            self._error(exc)
        except Exception as exc:  # a bug answers like PVE answers a die(): 500 with the message
            log.exception("unhandled error on %s %s", self.command, path)
            self._error(PVEError(500, f"internal error: {exc.__class__.__name__}: {exc}"))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class PVEServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api, authority: Authority, cert: Path, key: Path,
                 auth_delay: float = 0.0) -> None:
        self.api = api
        self.authority = authority
        self.auth_delay = auth_delay
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(str(cert), str(key))
        super().__init__(address, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        sock: socket.socket = request
        sock.settimeout(30)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if not first:
            return
        if first != b"\x16":  # not a TLS ClientHello: answer like pveproxy does plain HTTP
            self._redirect_plain(sock)
            return
        try:
            tls = self.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS handshake with %s failed: %s", client_address[0], exc)
            return
        tls.settimeout(120)
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def _redirect_plain(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(8192).decode("latin-1")
            line = data.split("\r\n", 1)[0].split(" ")
            method, target = (line[0], line[1]) if len(line) >= 2 else ("GET", "/")
            host = "localhost"
            for header in data.split("\r\n")[1:]:
                if header.lower().startswith("host:"):
                    host = header.split(":", 1)[1].strip()
            code, reason = (301, "Moved Permanently") if method in ("GET", "HEAD") else (308, "Permanent Redirect")
            sock.sendall(f"HTTP/1.1 {code} {reason}\r\nLocation: https://{host}{target}\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n".encode())
        except OSError:
            pass


def serve_forever(server: PVEServer, stop: threading.Event) -> None:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def serving(api: Api, state_dir: Path, host: str = "127.0.0.1") -> Iterator[int]:
    """Serve ``api`` with the certificates and realm of ``state_dir`` on a free port of ``host`` in a daemon
    thread (tests, embedding); yields the port, shuts the server down on exit."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    srv = PVEServer((host, port), api, Authority(state_dir), state_dir / "server.pem", state_dir / "server.key")
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        srv.shutdown()
        srv.server_close()
