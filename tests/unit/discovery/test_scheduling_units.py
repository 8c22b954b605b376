"""The shipped systemd units run the gather playbook and verify with systemd-analyze."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "scripts" / "systemd"


def _directives(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, _, v = line.partition("=")
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def test_units_are_wired_together():
    svc = _directives(UNITS / "s4-gather.service")
    timer = _directives(UNITS / "s4-gather.timer")
    assert svc["Type"] == ["oneshot"]
    assert svc["ExecStart"][0].split()[1] == "playbooks/gather_software.yml"
    assert (ROOT / "playbooks" / "gather_software.yml").is_file()
    assert timer["Unit"] == ["s4-gather.service"]
    assert timer["Persistent"] == ["true"] and timer["OnCalendar"]
    assert timer["WantedBy"] == ["timers.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_units_verify(tmp_path):
    venv = tmp_path / "s4" / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "ansible-playbook").write_text("#!/bin/sh\n")
    (venv / "ansible-playbook").chmod(0o755)
    for name in ("s4-gather.service", "s4-gather.timer"):
        text = (UNITS / name).read_text().replace("/opt/s4-toolkit", str(tmp_path / "s4"))
        (tmp_path / name).write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "s4-gather.service"),
                        str(tmp_path / "s4-gather.timer")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "s4-gather" not in r.stderr, r.stderr
