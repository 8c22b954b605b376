"""Issue #13 finding 3 (data path): the s4_data_migrate role defends itself against database names and owners
that would be shell or SQL injection in its dump/restore (restore.sh.j2 used to paste them into the command sent to
the source's root shell and into DROP DATABASE). Runs the role on the controller (localhost, check mode): its input
assert must stop the run before anything is installed, dumped or dropped."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_role(databases: list[dict[str, str]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "ansible.builtin.include_role": {"name": "smartt.s4.s4_data_migrate"},
        "vars": {"s4_data_migrate_name": "poc-test", "s4_data_migrate_source_address": "192.0.2.1",
                 "s4_data_migrate_source_host_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"],
                 "s4_data_migrate_state_dir": str(tmp_path / "state"), "s4_data_migrate_databases": databases}}]}]
    pb = tmp_path / "play.yml"
    pb.write_text(json.dumps(play))
    return subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "--check", str(pb), "-e", "ansible_python_interpreter=" + str(ROOT / ".venv" / "bin" / "python")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["x`touch /tmp/s4-pwned`", "x'; DROP DATABASE mysql; --", "host=evil.example",
                                  "-r/tmp/out"])
def test_database_name_injecting_shell_or_sql_is_refused_before_any_dump(name: str, tmp_path: Path) -> None:
    r = _run_role([{"engine": "mariadb", "name": name, "source_checksum": "abc"}], tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "s4_data_migrate refuses database" in out, out[-3000:]
    assert "Install rsync" not in out and not (tmp_path / "state").exists()
    assert not Path("/tmp/s4-pwned").exists()


def test_postgresql_owner_injecting_options_is_refused(tmp_path: Path) -> None:
    r = _run_role([{"engine": "postgresql", "name": "acme_pg", "owner": "-c shared_preload_libraries=x",
                    "source_checksum": "abc"}], tmp_path)
    assert r.returncode != 0 and "s4_data_migrate refuses database" in r.stdout + r.stderr


def test_plain_database_name_passes_the_assert(tmp_path: Path) -> None:
    r = _run_role([{"engine": "mariadb", "name": "acme_wp-2$x", "source_checksum": "sha256:abc"}], tmp_path)
    out = r.stdout + r.stderr
    assert "s4_data_migrate refuses database" not in out, out[-3000:]
