"""Issue #13 finding 7 (unit level): the POC's restore helper (roles/s4_data_migrate/files/s4-migration-restore)
never hands a dump to a client that could run its shell commands, and never restores PostgreSQL as a superuser.
The database tools are replaced by recording fakes on PATH; the lab test (test_migration_access.py) restores real
hostile dumps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HELPER = Path(__file__).resolve().parents[2] / "roles" / "s4_data_migrate" / "files" / "s4-migration-restore"

FAKE = """#!/bin/sh
echo "$(basename "$0") $*" >> "$S4_FAKE_LOG"
case "$(basename "$0")" in
  mysql) [ "$1" = "--help" ] && { [ -n "$S4_FAKE_SANDBOX" ] && echo "  --sandbox  Disallow commands"; echo "  --batch"; }
         exit 0 ;;
  runuser) shift 2; [ "$1" = "--" ] && shift
           if [ "$1" = psql ]; then cat >> "$S4_FAKE_LOG"; echo "$S4_FAKE_ROLE_STATE"; fi
           exit 0 ;;
esac
exit 0
"""


@pytest.fixture
def fakes(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mysql", "runuser"):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)
    dump = tmp_path / "dump.sql"
    dump.write_text("\\! touch /tmp/s4-pwned\n")
    log = tmp_path / "log"
    log.write_text("")
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "S4_FAKE_LOG": str(log), "dump": str(dump)}


def _restore(fakes: dict[str, str], *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    e = {**os.environ, "PATH": fakes["PATH"], "S4_FAKE_LOG": fakes["S4_FAKE_LOG"], **env}
    r = subprocess.run([sys.executable, str(HELPER), *args], capture_output=True, text=True, env=e, timeout=60)
    return r, Path(fakes["S4_FAKE_LOG"]).read_text().splitlines()


def test_hostile_dump_is_not_given_to_a_mysql_client_without_sandbox(fakes: dict[str, str]) -> None:
    r, calls = _restore(fakes, "mariadb", "acme_wp", "postgres", fakes["dump"])
    assert r.returncode == 3 and "--sandbox" in r.stderr
    assert calls == ["mysql --help"]  # nothing dropped, nothing restored


def test_mysql_restore_runs_sandboxed_and_quotes_the_name(fakes: dict[str, str]) -> None:
    r, calls = _restore(fakes, "mariadb", "acme-wp$1", "postgres", fakes["dump"], S4_FAKE_SANDBOX="1")
    assert r.returncode == 0, r.stderr
    assert calls[1] == "mysql --batch -e DROP DATABASE IF EXISTS `acme-wp$1`"
    assert calls[2] == "mysql --sandbox --batch"


@pytest.mark.parametrize("name", ["x`id`", "a b", "-e", "x'y", "../x"])
def test_restore_of_hostile_database_name_is_refused(fakes: dict[str, str], name: str) -> None:
    r, calls = _restore(fakes, "mariadb", name, "postgres", fakes["dump"], S4_FAKE_SANDBOX="1")
    assert r.returncode == 3 and calls == []


def test_postgresql_restore_as_superuser_owner_is_refused(fakes: dict[str, str]) -> None:
    r, calls = _restore(fakes, "postgresql", "acme_pg", "postgres", fakes["dump"], S4_FAKE_ROLE_STATE="super")
    assert r.returncode == 3 and "superuser" in r.stderr
    assert not any("pg_restore" in c or "dropdb" in c for c in calls)


def test_postgresql_restore_runs_as_the_unprivileged_helper_with_the_owner_role(fakes: dict[str, str]) -> None:
    r, calls = _restore(fakes, "postgresql", "acme_pg", "acme_owner", fakes["dump"], S4_FAKE_ROLE_STATE="ok")
    assert r.returncode == 0, r.stderr
    restore = [c for c in calls if "pg_restore" in c]
    assert restore == ["runuser -u s4_restore -- pg_restore --exit-on-error --single-transaction --no-owner "
                       "--role=acme_owner --dbname=dbname='acme_pg'"]
    assert not any(c.startswith("runuser -u postgres -- pg_restore") for c in calls)
    # the helper gets the owner's membership before the restore and loses it after (last psql call's SQL)
    grant = next(i for i, c in enumerate(calls) if "format('GRANT %I TO %I'" in c)
    assert grant < calls.index(restore[0]) < len(calls) - 1
    assert "format('REVOKE %I FROM %I'" in calls[-1] and calls[-2].startswith("runuser -u postgres -- psql")
