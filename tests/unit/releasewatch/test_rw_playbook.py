"""playbooks/release_watch.yml end to end without the lab: a CMDB inventory (smartt.s4.cmdb), a gather history DB
and a test catalog; real aiosmtpd server on loopback for the send mode."""

from __future__ import annotations

import email
import os
import socket
import subprocess
import sys
from email import policy as email_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from rwfixtures import AS_OF, CMDB_YAML

from s4.releasewatch.store import Store

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = str(ROOT / "playbooks" / "release_watch.yml")
pytestmark = pytest.mark.slow


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def env(tmp_path, history_db, catalog_dir):
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "cmdb.yml").write_text(CMDB_YAML)
    (tmp_path / "inv" / "group_vars").mkdir()
    (tmp_path / "inv" / "group_vars" / "all.yml").write_text(
        'ansible_ssh_private_key_file: "{{ inventory_dir }}/../key"\n'
        'ansible_ssh_common_args: "-o UserKnownHostsFile={{ inventory_dir }}/known_hosts"\n')
    e = dict(os.environ)
    e.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"),
             ANSIBLE_LOCAL_TEMP=str(tmp_path / "atmp"), ANSIBLE_NOCOLOR="1",
             PATH=f"{Path(sys.executable).parent}:{e.get('PATH', '')}")
    e.pop("S4_SMTP_PASSWORD", None)
    e.pop("S4_SMTP_USERNAME", None)
    extra = ["-e", f"s4_as_of={AS_OF.isoformat()}", "-e", f"s4_state_url={history_db}",
             "-e", f"s4_release_watch_dir={tmp_path / 'out'}",
             "-e", f"s4_release_watch_catalog_dir={catalog_dir}"]
    return e, tmp_path, extra


def _announced(tmp: Path) -> set[str]:
    """Announcements in the test's state store (the gather history fixture's store holds the decisions too)."""
    with Store(tmp / "history.sqlite") as s:
        return s.announced_ids()


def play(env, *args, ok=True):
    e, tmp, extra = env
    proc = subprocess.run(["ansible-playbook", "-i", str(tmp / "inv"), PLAYBOOK, *extra, *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def changed(out: str) -> int:
    line = next(ln for ln in out.splitlines() if ln.startswith("localhost"))
    return int(line.split("changed=")[1].split()[0])


def test_dry_run_is_idempotent_and_check_mode_writes_nothing(env):
    _, tmp, _ = env
    first = play(env, "--check")
    assert "new announcements: php-8.5, wordpress-7.1" in first.stdout
    assert not _announced(tmp) and not (tmp / "out").exists()
    run1 = play(env)
    assert changed(run1.stdout) == 1
    assert "notices: acme: dry-run, globex: dry-run" in run1.stdout
    assert "not notified (no contact): hooli" in run1.stdout
    assert (tmp / "out" / "site" / "feed.atom").is_file() and (tmp / "out" / "outbox" / "globex.eml").is_file()
    run2 = play(env)
    assert changed(run2.stdout) == 0
    assert "new announcements: none" in run2.stdout
    assert "skipping: no hosts matched" in run2.stdout    # no publish host: the publish play selects nobody


def test_out_of_scope_or_unknown_publish_host_refused_before_anything(env):
    _, tmp, _ = env
    for host in ("colo-01", "nowhere-01", "all"):
        proc = play(env, "-e", f"s4_release_watch_publish_host={host}", ok=False)
        assert proc.returncode != 0
        assert "out-of-scope and unknown hosts are never targeted" in proc.stdout
    assert not _announced(tmp) and not (tmp / "out").exists()


def test_send_mode_smtp_down_then_up(env):
    e, tmp, _ = env
    e["S4_SMTP_PASSWORD"] = "pw-never-printed-42"
    e["S4_SMTP_USERNAME"] = "s4"
    down = free_port()
    failed = play(env, "-e", "s4_release_watch_send=true", "-e", "s4_release_watch_smtp_host=127.0.0.1",
                  "-e", f"s4_release_watch_smtp_port={down}", "-e", "s4_release_watch_smtp_timeout=5", ok=False)
    assert failed.returncode != 0
    assert f"cannot use SMTP server 127.0.0.1:{down}" in failed.stdout and "a rerun sends them" in failed.stdout
    assert "pw-never-printed-42" not in failed.stdout + failed.stderr
    with Store(tmp / "history.sqlite") as s:
        assert s.deliveries("sent") == []

    e.pop("S4_SMTP_PASSWORD")
    e.pop("S4_SMTP_USERNAME")
    handler = Recorder()
    port = free_port()
    ctrl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30)
    ctrl.start()
    try:
        # the loopback test server offers no STARTTLS: no credentials, plain SMTP chosen explicitly
        args = ["-e", "s4_release_watch_send=true", "-e", "s4_release_watch_smtp_host=127.0.0.1",
                "-e", f"s4_release_watch_smtp_port={port}", "-e", "s4_release_watch_smtp_security=none"]
        sent = play(env, *args)
        assert "notices: acme: sent, globex: sent" in sent.stdout and changed(sent.stdout) == 1
        assert sorted(r for rcpts, _ in handler.messages for r in rcpts) == [
            "cto@globex.example", "it@globex.example", "ops@acme.example"]
        clients = sorted(email.message_from_bytes(raw, policy=email_policy.default)["X-S4-Client"]
                         for _, raw in handler.messages)
        assert clients == ["acme", "globex"]
        again = play(env, *args)
        assert changed(again.stdout) == 0 and len(handler.messages) == 2
    finally:
        ctrl.stop()


def test_a_notice_another_job_is_sending_is_left_to_it(env):
    """Overlapping jobs (docs/RELEASE_WATCH.md): acme's notice claimed by another job is reported, not sent."""
    from s4.releasewatch.store import new_claim_token

    _, tmp, _ = env
    for bad in ("0", "-5", "soon"):
        proc = play(env, "-e", f"s4_release_watch_claim_lease={bad}", ok=False)
        assert proc.returncode != 0 and "s4_release_watch_claim_lease a positive number of minutes" in proc.stdout
    assert not _announced(tmp)
    play(env)   # the dry run records the deliveries (pending)
    with Store(tmp / "history.sqlite") as s:
        assert s.claim("acme", ["php-8.5", "wordpress-7.1"], new_claim_token())
    handler = Recorder()
    port = free_port()
    ctrl = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30)
    ctrl.start()
    try:
        sent = play(env, "-e", "s4_release_watch_send=true", "-e", "s4_release_watch_smtp_host=127.0.0.1",
                    "-e", f"s4_release_watch_smtp_port={port}", "-e", "s4_release_watch_smtp_security=none",
                    "-e", "s4_release_watch_claim_lease=30")
        assert "notices: acme: sending, globex: sent" in sent.stdout
        assert [email.message_from_bytes(raw, policy=email_policy.default)["X-S4-Client"]
                for _, raw in handler.messages] == ["globex"]
    finally:
        ctrl.stop()
    with Store(tmp / "history.sqlite") as s:
        assert {d["client_id"]: d["status"] for d in s.deliveries() if d["client_id"] != "hooli"} == {
            "acme": "sending", "globex": "sent"}
