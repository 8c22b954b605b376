"""smartt.s4.poc_record (the POC playbooks' way to the state store), run through ansible-playbook on localhost:
a reader creates no store, a step is recorded with AWX's operator and job id, the site of a site POC is found from
its record, a rerun of a step does not report a change, and a bad name is refused before the store is touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from s4.poc.plan import poc_name
from s4.state import open_store
from s4.state import poc as state_poc

ROOT = Path(__file__).resolve().parents[3]
NAME = poc_name("acme", "acme-blog")
HOST_POC = poc_name("acme", "mvps-acme-01")
pytestmark = pytest.mark.slow


def play(tmp_path: Path, tasks: list[dict[str, Any]], *extra: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp_path / "out.json"
    book = tmp_path / "book.yml"
    book.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [*tasks, {"ansible.builtin.copy": {"dest": str(out), "mode": "0600",
                                                    "content": "{{ results | default({}) | to_json }}"}}],
    }], sort_keys=False))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "S4_"))}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "t"),
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    p = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                        str(book), *extra], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout + p.stderr, json.loads(out.read_text()) if out.exists() else {}


def _task(register: str, **args: Any) -> list[dict[str, Any]]:
    return [{"smartt.s4.poc_record": args, "register": register},
            {"ansible.builtin.set_fact": {"results": f"{{{{ results | default({{}}) | combine({{'{register}': "
                                                     f"{register}}}) }}}}"}}]


def test_info_step_and_site_with_the_awx_operator_and_job_id(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite"
    url = f"sqlite:///{db}"
    step = dict(name=NAME, state_url=url, state="step", step="provision", started_at="2026-12-01T10:00:00Z",
                client="acme", vmid=101, node="pve", source_host="mvps-acme-01", site="acme-blog", profile="debian13")
    tasks = (_task("before", name=NAME, state_url=url) + _task("first", **step) + _task("again", **step)
             + _task("after", name=NAME, state_url=url))
    rc, out, r = play(tmp_path, tasks, "-e", "awx_user_name=alice", "-e", "awx_job_id=4711")
    assert rc == 0, out[-3000:]
    assert r["before"]["exists"] is False and r["before"]["record"] == {}
    assert r["first"]["changed"] is True and r["first"]["record"]["status"] == "provisioned"
    assert r["again"]["changed"] is False  # a rerun records its step but the POC's status did not change
    assert r["after"]["exists"] and r["after"]["site"] == "acme-blog"
    assert r["after"]["record"]["vmid"] == 101 and r["after"]["record"]["source_host"] == "mvps-acme-01"
    store = open_store(url)
    assert store is not None
    with store:
        events = state_poc.events(store, NAME)
    assert [(e.step, e.operator, e.job_id) for e in events] == [("provision", "alice", "4711")] * 2


def test_a_reader_creates_no_store_and_a_whole_host_poc_has_no_site(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite"
    url = f"sqlite:///{db}"
    rc, out, r = play(tmp_path, _task("info", name=NAME, state_url=url))
    assert rc == 0 and r["info"]["exists"] is False, out[-2000:]
    assert not db.exists()
    step = dict(name=HOST_POC, state_url=url, state="step", step="provision", started_at="2026-12-01T10:00:00Z",
                client="acme", source_host="mvps-acme-01", sites=["acme-blog"], profile="debian13")
    rc, out, r = play(tmp_path, _task("s", **step) + _task("info", name=HOST_POC, state_url=url))
    assert rc == 0, out[-2000:]
    assert r["info"]["record"]["sites"] == ["acme-blog"] and r["info"]["site"] == ""  # the host's POC, one site


@pytest.mark.parametrize("name", ["../../etc/passwd", "poc-acme;rm -rf /", "acme-blog", "POC-ACME"])
def test_a_name_that_is_not_a_poc_is_refused_before_the_store(tmp_path: Path, name: str) -> None:
    db = tmp_path / "state.sqlite"
    rc, out, _ = play(tmp_path, _task("r", name=name, state_url=f"sqlite:///{db}", state="step", step="teardown"))
    assert rc != 0 and "is not a POC name" in out, out[-2000:]
    assert not db.exists()


def test_a_secret_in_the_detail_is_masked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    secret = "Zq8wR2pLm4Xy7TbN3vKc9sHd"
    rc, out, _ = play(tmp_path, _task("s", name=NAME, state_url=url, state="step", step="provision", client="acme",
                                      detail=f"password={secret} failed", secrets=[secret]))
    assert rc == 0, out[-2000:]
    store = open_store(url)
    assert store is not None
    with store:
        detail = state_poc.events(store, NAME)[0].detail or ""
    assert secret not in detail and "failed" in detail
