"""Throw-away database containers for integrity tests and benchmarks (``s4int-*``).

Two database images are derived from the lab base images and cached by recipe hash:

* ``localhost/s4int/db-bullseye:<hash>``: MariaDB 10.5 and PostgreSQL 13 (Debian 11 packages);
* ``localhost/s4int/db-trixie:<hash>``:   MariaDB 11.8 and PostgreSQL 17 (Debian 13 packages).

They boot systemd (``/sbin/init``) so both servers start as they do on a real host. A read-only account
``s4check`` (password :data:`CHECK_PASSWORD`) is created at first boot by :func:`start` so the checksum module can
be exercised with credentials over TCP (MariaDB ``127.0.0.1:3306``, PostgreSQL ``127.0.0.1:5432``).

Used by ``tests/integration/test_integrity*.py`` and ``scripts/bench_integrity``; containers are reached with
``podman exec`` only (no SSH, no traffic outside the host).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable

IMAGE_REPO = "localhost/s4int"
CONTAINER_PREFIX = "s4int-"
BASE_IMAGE = "localhost/s4lab/base-{suite}:latest"
SUITES: dict[str, dict[str, str]] = {
    "bullseye": {"mariadb": "10.5", "postgresql": "13"},
    "trixie": {"mariadb": "11.8", "postgresql": "17"},
}
PACKAGES = ("mariadb-server", "mariadb-client", "postgresql", "postgresql-client", "python3")
CHECK_USER = "s4check"
CHECK_PASSWORD = "s4-Check-pw-7781"  # lab-only throw-away credential

_SETUP = """set -e
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
apt-get -q update
apt-get -q -y --no-install-recommends install {packages}
rm -f /usr/sbin/policy-rc.d
apt-get clean
rm -rf /var/lib/apt/lists/*
systemctl enable mariadb.service postgresql.service
"""


def _run(cmd: list[str], *, input_: bytes | None = None, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(cmd, input=input_, capture_output=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(
            "command failed (rc={}): {}\n{}".format(proc.returncode, " ".join(cmd), proc.stderr.decode("utf-8", "replace")[-2000:])
        )
    return proc


def base_image_id(suite: str) -> str:
    ref = BASE_IMAGE.format(suite=suite)
    proc = _run(["podman", "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"base image {ref} is missing: build it with `python -m s4.lab.images {suite}`")
    return proc.stdout.decode().strip()


def image_ref(suite: str) -> str:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    recipe = json.dumps({"base": base_image_id(suite), "packages": PACKAGES, "setup": _SETUP}, sort_keys=True)
    return f"{IMAGE_REPO}/db-{suite}:{hashlib.sha256(recipe.encode()).hexdigest()[:16]}"


def ensure_image(suite: str, *, log: Callable[[str], None] = print) -> str:
    """Build (once, cached by recipe hash) the database image for ``suite``; return its reference."""
    ref = image_ref(suite)
    if _run(["podman", "image", "exists", ref], check=False).returncode == 0:
        return ref
    log(f"building {ref} (apt: {' '.join(PACKAGES)})")
    builder = f"{CONTAINER_PREFIX}build-{suite}-{uuid.uuid4().hex[:8]}"
    script = _SETUP.format(packages=" ".join(PACKAGES))
    try:
        _run(["podman", "run", "--name", builder, BASE_IMAGE.format(suite=suite), "sh", "-c", script], timeout=1800)
        _run(["podman", "commit", "--quiet", "--change", "CMD=/sbin/init", "--change", "STOPSIGNAL=SIGRTMIN+3", builder, ref])
    finally:
        _run(["podman", "rm", "-f", builder], check=False)
    return ref


class DbContainer:
    """A running ``s4int-*`` database container."""

    def __init__(self, name: str, suite: str) -> None:
        self.name = name
        self.suite = suite

    @property
    def versions(self) -> dict[str, str]:
        return SUITES[self.suite]

    def exec(self, command: str, *, input_: bytes | None = None, check: bool = True, user: str | None = None,
             env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[bytes]:
        cmd = ["podman", "exec", "-i"]
        if user:
            cmd += ["--user", user]
        for key, value in (env or {}).items():
            cmd += ["--env", f"{key}={value}"]
        cmd += [self.name, "sh", "-c", command]
        return _run(cmd, input_=input_, check=check, timeout=timeout)

    def sql_mariadb(self, sql: str, database: str = "") -> str:
        return self.exec(f"mariadb --batch --skip-column-names {database}", input_=sql.encode()).stdout.decode()

    def sql_postgresql(self, sql: str, database: str = "postgres") -> str:
        cmd = f"psql -X -q -A -t -v ON_ERROR_STOP=1 -d {database}"
        return self.exec(cmd, input_=sql.encode(), user="postgres").stdout.decode()

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            maria = self.exec("mariadb-admin ping >/dev/null 2>&1 || mysqladmin ping >/dev/null 2>&1", check=False)
            pg = self.exec("pg_isready -q -h /var/run/postgresql", check=False)
            if maria.returncode == 0 and pg.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: databases not ready after {timeout}s")
            time.sleep(1)

    def create_check_user(self) -> None:
        pw = CHECK_PASSWORD
        self.sql_mariadb(
            f"CREATE USER IF NOT EXISTS '{CHECK_USER}'@'localhost' IDENTIFIED BY '{pw}';"
            f"CREATE USER IF NOT EXISTS '{CHECK_USER}'@'127.0.0.1' IDENTIFIED BY '{pw}';"
            f"GRANT SELECT, SHOW VIEW, LOCK TABLES, RELOAD ON *.* TO '{CHECK_USER}'@'localhost';"
            f"GRANT SELECT, SHOW VIEW, LOCK TABLES, RELOAD ON *.* TO '{CHECK_USER}'@'127.0.0.1';"
        )
        self.sql_postgresql(
            f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='{CHECK_USER}') THEN "
            f"CREATE ROLE {CHECK_USER} LOGIN PASSWORD '{pw}'; END IF; END$$;"
            f"GRANT pg_read_all_data TO {CHECK_USER};"
            if self.versions["postgresql"] >= "14"
            else f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='{CHECK_USER}') THEN "
            f"CREATE ROLE {CHECK_USER} LOGIN PASSWORD '{pw}'; END IF; END$$;"
        )

    def remove(self) -> None:
        _run(["podman", "rm", "-f", "-t", "2", self.name], check=False)


def start(suite: str, tag: str | None = None, *, log: Callable[[str], None] = print) -> DbContainer:
    """Start a database container for ``suite`` (building its image if needed) and wait until both servers answer."""
    ref = ensure_image(suite, log=log)
    name = f"{CONTAINER_PREFIX}{tag or suite}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    _run(["podman", "run", "-d", "--name", name, "--systemd=always", "--network", "none", ref, "/sbin/init"])
    box = DbContainer(name, suite)
    try:
        box.wait_ready()
        box.create_check_user()
    except Exception:
        box.remove()
        raise
    return box


if __name__ == "__main__":  # build the images: python -m s4.integrity.dblab [suite ...]
    import sys

    for s in sys.argv[1:] or list(SUITES):
        print(s, ensure_image(s))
