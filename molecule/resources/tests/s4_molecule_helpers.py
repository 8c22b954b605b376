"""Small helpers shared by the role scenarios' testinfra tests."""

from __future__ import annotations

import shlex


def http_get(host, path: str, host_header: str, port: int = 80) -> tuple[int, str]:
    """GET http://127.0.0.1:<port><path> inside the instance with the given Host header; return (status, body)."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1], headers={'Host': sys.argv[2]})\n"
        "try:\n"
        "    resp = urllib.request.urlopen(req, timeout=20)\n"
        "    print(resp.status); sys.stdout.write(resp.read().decode('utf-8', 'replace'))\n"
        "except urllib.error.HTTPError as exc:\n"
        "    print(exc.code); sys.stdout.write(exc.read().decode('utf-8', 'replace'))\n"
    )
    url = f"http://127.0.0.1:{port}{path}"
    out = host.check_output(f"python3 -c {shlex.quote(script)} {shlex.quote(url)} {shlex.quote(host_header)}")
    status, _, body = out.partition("\n")
    return int(status), body


def parse_kv(body: str) -> dict[str, str]:
    """Parse `key=value` lines."""
    result = {}
    for line in body.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result
