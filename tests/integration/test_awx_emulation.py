"""AWX / ansible-runner emulation against the lab (issue #16 point 6, docs/AWX.md).

AWX runs every job in a fresh, throw-away private_data_dir (``env/``, ``inventory/``, ``project/``) with a fresh
project copy, often on another execution node: nothing a job writes next to itself survives it. Here each job gets
its own freshly created private_data_dir, run through the ``ansible_runner`` Python API as AWX does:

* job 1 (dir A) gathers the software of two lab hosts;
* job 2 (dir B) builds the EOL report from the state store's snapshots (``s4_facts_source=state``, no fact cache
  of job 1) and publishes it to a directory; ``s4 history changes`` runs there too;
* job 3 (dirs C and D) runs the release watch twice, sending through a loopback SMTP server.

The only thing the jobs share is the state store URL (``S4_STATE_URL`` in ``env/envvars``, as an AWX credential
injects it): a SQLite file outside every private_data_dir, then the lab's PostgreSQL. The report must show job 1's
facts, the second release watch must announce and send nothing new (the first sent every notice), and every playbook's set_stats must reach the
runner's artifacts (what an AWX workflow branches on).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ansible_runner
import pytest
import yaml
from aiosmtpd.controller import Controller

from s4.lab import topology
from s4.state import open_store
from s4.state import reports as state_reports

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

AS_OF = "2026-11-27"  # fixed: the committed catalog decides the same findings and announcements every time
HOSTS = ["mvps-acme-01", "shared-01"]
# what an AWX project holds (the repository); .collections loads s4_plugins/ and roles/ in place as smartt.s4
PROJECT_ITEMS = ["ansible.cfg", "playbooks", "roles", "s4_plugins", "s4", "collection", "collections", ".collections"]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".cache", "reports")


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        # a file outside every private_data_dir (AWX: a volume, or PostgreSQL)
        yield f"sqlite:///{tmp_path_factory.mktemp('awx-state') / 'state.sqlite'}"
    else:
        yield request.getfixturevalue("state_pg_url")


def private_data_dir(base: Path, name: str, state_url: str) -> Path:
    """A fresh private_data_dir as AWX lays it out: project/ (a copy of the repository), inventory/ (the CMDB
    inventory source with the connection settings of the lab), env/ (envvars, the machine credential's ssh_key)."""
    pdd = base / name
    assert not pdd.exists()
    project = pdd / "project"
    project.mkdir(parents=True)
    for item in PROJECT_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, project / item, symlinks=True, ignore=_IGNORE)
        else:
            shutil.copy2(src, project / item)
    inventory = pdd / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    shutil.copy2(ROOT / "inventories" / "lab" / "cmdb.yml", inventory / "cmdb.yml")
    # the machine credential's key reaches ssh through ansible-runner's ssh-agent (env/ssh_key), not a key file
    (inventory / "group_vars" / "s4_in_scope.yml").write_text(yaml.safe_dump({
        "ansible_user": "root",
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={topology.STATE_DIR / 'ssh' / 'known_hosts'} "
                                   "-o StrictHostKeyChecking=yes",
        "ansible_python_interpreter": "/usr/bin/python3",
    }))
    env = pdd / "env"
    env.mkdir()
    (env / "ssh_key").write_text(topology.SSH_KEY.read_text())
    (env / "ssh_key").chmod(0o600)
    (env / "envvars").write_text(yaml.safe_dump({
        "S4_STATE_URL": state_url,  # the "S4 state store" credential type injects it (docs/AWX.md)
        "PYTHONPATH": str(project),  # the EE has the s4 package installed; here: the project copy's
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(pdd / "artifacts" / "fact_cache"),  # AWX: per job
        "ANSIBLE_NOCOLOR": "1",
    }))
    (env / "envvars").chmod(0o600)
    return pdd


def run_job(pdd: Path, playbook: str, extravars: dict[str, Any] | None = None,
            limit: str | None = None) -> tuple[ansible_runner.Runner, dict[str, Any], str]:
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, extravars=extravars or {}, limit=limit,
                           quiet=True, timeout=1500)
    stdout = r.stdout.read() if r.stdout else ""
    assert r.status == "successful" and r.rc == 0, f"{playbook} in {pdd.name}: {r.status}\n{stdout[-5000:]}"
    stats = next((e.get("event_data", {}).get("artifact_data") or {} for e in r.events
                  if e.get("event") == "playbook_on_stats"), {})
    return r, stats, stdout


@pytest.mark.timeout(3600)
def test_jobs_in_separate_private_data_dirs_share_only_the_state_store(state_url: str, tmp_path: Path) -> None:
    published = tmp_path / "published"  # the publish destination (a web server's directory, here a local one)

    # job 1: gather, in its own private_data_dir
    a = private_data_dir(tmp_path, "job1-gather", state_url)
    gather, gather_stats, _ = run_job(a, "playbooks/gather_software.yml", limit=",".join(HOSTS))
    assert gather_stats["s4_gather"]["hosts_ok"] == len(HOSTS), gather_stats
    assert gather_stats["s4_gather"]["hosts_failed"] == 0
    job1_facts = {e["event_data"]["host"]: e["event_data"]["res"]["ansible_facts"]["s4_software"]
                  for e in gather.events if e.get("event") == "runner_on_ok"
                  and e["event_data"].get("task_action") == "smartt.s4.software_facts"}
    assert set(job1_facts) == set(HOSTS)

    # job 2: the EOL report in another private_data_dir: no fact cache of job 1, facts from the store
    b = private_data_dir(tmp_path, "job2-report", state_url)
    assert not (b / "artifacts").exists()
    _, report_stats, _ = run_job(b, "playbooks/eol_report.yml", extravars={
        "s4_as_of": AS_OF, "s4_facts_source": "state", "s4_publish_dir": str(published)})
    eol = report_stats["s4_eol_report"]
    assert eol["hosts_gathered"] == len(HOSTS) and eol["hosts"] == 5, eol
    assert eol["eol_findings"] > 0 and eol["findings"] >= eol["eol_findings"]
    assert not any((b / "artifacts" / "fact_cache").glob("*"))  # job 2 gathered nothing itself
    findings = json.loads((published / "eol" / AS_OF / "findings.json").read_text())
    assert {f["host"] for f in findings["findings"]} == set(HOSTS)
    # the published report is built from job 1's facts: every PHP job 1 found is in it, in job 1's version
    php = {(h, c["version"]) for h in HOSTS for c in job1_facts[h].get("components", [])
           if c.get("product") == "php" and c.get("version")}
    assert php and php <= {(f["host"], f["version"]) for f in findings["findings"] if f["product"] == "php"}
    not_gathered = {n["host"] for n in findings["not_gathered"]}
    assert not_gathered == {"mvps-globex-01", "db-01", "internal-01"}
    store = open_store(state_url)
    assert store is not None
    with store:
        run = state_reports.runs(store, "eol_report")[0]
    assert run["counts"]["hosts_gathered"] == len(HOSTS) and str(published) in (run["destination"] or "")

    changes = ansible_runner.run_command(executable_cmd="s4", cmdline_args=["history", "changes"],
                                         envvars={"S4_STATE_URL": state_url, "PYTHONPATH": str(b / "project")},
                                         host_cwd=str(b / "project"), quiet=True)
    out, _, rc = changes
    assert rc == 0, out
    assert all(f"{h}: + " in out for h in HOSTS), out  # job 1 is each host's first run: every component is new

    # job 3: the release watch, sending, twice, each in a fresh private_data_dir (a loopback SMTP server that offers
    # no STARTTLS: plain SMTP chosen explicitly, no credentials)
    smtp = _Recorder()
    port = _free_port()
    ctrl = Controller(smtp, hostname="127.0.0.1", port=port, ready_timeout=30)
    ctrl.start()
    try:
        rw = {"s4_as_of": AS_OF, "s4_publish_dir": str(published), "s4_release_watch_send": True,
              "s4_release_watch_smtp_host": "127.0.0.1", "s4_release_watch_smtp_port": port,
              "s4_release_watch_smtp_security": "none"}
        c = private_data_dir(tmp_path, "job3-release-watch", state_url)
        _, first, _ = run_job(c, "playbooks/release_watch.yml", extravars=rw)
        assert first["s4_release_watch"]["new_announcements"] > 0, first
        assert first["s4_release_watch"]["notices_sent"] > 0, first
        assert len(smtp.messages) == first["s4_release_watch"]["notices_sent"]
        assert (published / "release-watch" / "site" / "index.html").is_file()
        d = private_data_dir(tmp_path, "job3-release-watch-again", state_url)
        _, again, _ = run_job(d, "playbooks/release_watch.yml", extravars=rw)
    finally:
        ctrl.stop()
    # the second job knows, from the store alone, what was announced and sent: nothing new, nothing sent again
    assert again["s4_release_watch"]["new_announcements"] == 0, again
    assert again["s4_release_watch"]["notices"] == 0 and again["s4_release_watch"]["notices_sent"] == 0, again
    assert len(smtp.messages) == first["s4_release_watch"]["notices_sent"]
    # ... and renders the same notice site from it as the first job did
    site = Path("project") / "reports" / "release-watch" / "site" / "index.html"
    assert (d / site).read_text() == (c / site).read_text()

    # nothing of the state was written into any job's project copy (the store's default location)
    for pdd in (a, b, c, d):
        assert not (pdd / "project" / ".cache" / "s4").exists(), pdd.name
