"""Issue #13 finding 8: secrets of a failed task never reach the POC failure report (JSON/HTML) or the console.

playbooks/tasks/poc_failed.yml hands ``ansible_failed_result`` to the report; for a no_log task ansible keeps its
stderr and cmd there *uncensored* (it only marks ``_ansible_no_log``). The report keeps task, host, step, ansible's
own fixed message and the exit status, and a censored marker; every string of every report also goes through
s4.redact (credential patterns) as defence in depth.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from s4 import redact
from s4.poc import report as poc_report

PW = "Zq8-wp-db-pass-1f0c"  # noqa: S105 - test value

PLAN: dict[str, Any] = {
    "name": "poc-acme-acme-blog", "source": "mvps-acme-01", "client": "acme", "scope": "site", "site": "acme-blog",
    "profile": {"name": "debian13", "description": "Debian 13", "distro": "debian-13", "template": 9000},
}


def _failed_no_log_result() -> dict[str, Any]:
    """ansible_failed_result of a failed no_log shell task (as ansible-core 2.19 hands it to a rescue)."""
    cmd = f"mysql -uacme_wp -p{PW} -e \"ALTER USER 'acme_wp'@'localhost' IDENTIFIED BY '{PW}'\""
    return {
        "changed": True, "failed": True, "msg": "non-zero return code", "rc": 1, "cmd": cmd,
        "stdout": "", "stderr": f"ERROR 1045 (28000): Access denied; command was {cmd}",
        "invocation": {"module_args": {"_raw_params": cmd}}, "_ansible_no_log": True,
    }


def _report(result: dict[str, Any], no_log: bool = True) -> dict[str, Any]:
    failure = {"step": "configure the applications", "host": "poc-acme-acme-blog", "task": "Rewrite the app config",
               "resume": "re-run", "result": result, "no_log": no_log}
    return poc_report.build(PLAN, vm={}, before={}, after={}, integrity={"passed": False}, interop=[], access={},
                            commands={}, failed_step=failure)


def test_failed_no_log_task_password_in_stderr_and_cmd_never_reaches_the_report() -> None:
    rep = _report(_failed_no_log_result())
    for text in (poc_report.render_json(rep), poc_report.render_html(rep), json.dumps(rep)):
        assert PW not in text
    step = rep["failed_step"]
    assert set(step) == {"step", "host", "task", "resume", "message"}
    assert step["message"].startswith("non-zero return code (exit status 1) (output hidden")
    assert "mysql" not in step["message"] and "ERROR 1045" not in step["message"]


def test_failed_no_log_loop_item_output_never_reaches_the_report() -> None:
    item = _failed_no_log_result()
    item.update(item={"name": "acme_wp", "password": PW}, _ansible_item_label={"name": "acme_wp", "password": PW})
    result = {"failed": True, "msg": "One or more items failed", "results": [item], "_ansible_no_log": True}
    rep = _report(result, no_log=False)  # per-item no_log: the task's own flag says nothing, the results do
    assert PW not in poc_report.render_json(rep) and PW not in poc_report.render_html(rep)
    assert "acme_wp" not in rep["failed_step"]["message"]


def test_password_in_stderr_of_a_task_without_no_log_is_redacted_in_the_report() -> None:
    # defence in depth: a task that should have been no_log and was not
    result = {"failed": True, "msg": "non-zero return code", "rc": 1,
              "stderr": f"psql: error: connection to server failed: password={PW} PGPASSWORD={PW}"}
    rep = _report(result, no_log=False)
    message = rep["failed_step"]["message"]
    assert PW not in poc_report.render_json(rep) and PW not in poc_report.render_html(rep)
    assert message.startswith("non-zero return code: psql: error") and "password=<redacted>" in message


def test_failure_message_of_an_ordinary_failure_is_kept() -> None:
    result = {"failed": True, "msg": "One or more items failed", "results": [
        {"failed": True, "msg": "non-zero return code", "stderr": "rsync: connection unexpectedly closed"},
        {"failed": False, "msg": "ok"}]}
    assert redact.failure_message(result) == (
        "One or more items failed; non-zero return code: rsync: connection unexpectedly closed")


def test_secret_keys_anywhere_in_the_report_are_redacted() -> None:
    rep = poc_report.build(PLAN, vm={"root_password": PW, "vmid": 101}, before={}, after={},
                           integrity={"passed": True}, interop=[{"check": "db", "passed": True,
                                                                 "detail": f"login with db_pass={PW} ok"}],
                           access={"credentials_file": "/x/credentials/acme_wp", "DB_PASSWORD": PW}, commands={})
    text = poc_report.render_json(rep)
    assert PW not in text and rep["vm"]["vmid"] == 101
    assert rep["access"]["credentials_file"] == "/x/credentials/acme_wp"


@pytest.mark.parametrize("text", [
    f"define( 'DB_PASSWORD', '{PW}' );",
    f"$dbpass = '{PW}';",
    f"'password' => \"{PW}\",",
    f'{{"password": "{PW}"}}',
    f"mysqldump -u root -p{PW} acme_wp",
    f"mariadb --password={PW} acme",
    f"mariadb --password {PW} acme",
    f"CREATE USER 'a'@'%' IDENTIFIED BY '{PW}'",
    f"ALTER ROLE acme WITH LOGIN PASSWORD '{PW}'",
    f"SET PASSWORD FOR 'a'@'%' = PASSWORD('{PW}')",
    f"postgresql://acme:{PW}@10.89.40.14/acme",
    f"MYSQL_PWD={PW} mysql acme",
    f"Authorization: PVEAPIToken=root@pam!s4={PW}",
    f"Cookie: PVEAuthCookie={PW}",
    f"s4_release_watch_smtp_password: {PW}",
    f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PW}\n-----END OPENSSH PRIVATE KEY-----",
])
def test_credential_patterns_are_redacted(text: str) -> None:
    out = redact.redact_text(text)
    assert PW not in out and redact.MARK in out


@pytest.mark.parametrize("text", [
    "integrity passed: 3 checks", "bypass: none", "tokens_used: 4", "mkdir -p /srv/www/acme",
    "credentials_file: /srv/s4/credentials/acme_wp", "rsync -av --partial src/ dst/",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact.redact_text(text) == text


def test_known_secret_values_are_redacted_anywhere() -> None:
    assert redact.redact_text(f"xx{PW}yy", secrets=[PW]) == f"xx{redact.MARK}yy"


PLAY = """
- name: A POC step that fails under no_log (its stderr and cmd hold the secret)
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    __s4_poc_step: configure the applications
  tasks:
    - name: The plan, as poc_provision.yml sets it
      ansible.builtin.set_fact:
        s4_poc_plan:
          name: poc-acme-acme-blog
          source: mvps-acme-01
          client: acme
          scope: site
          site: acme-blog
          profile: {name: debian13, description: Debian 13, distro: debian-13, template: 9000}
        s4_poc_report_dir: "{{ report_dir }}"
    - name: Step
      block:
        - name: Rewrite the app config
          ansible.builtin.command:
            argv: [sh, -c, "echo \\"cannot write config: {{ secret }}\\" >&2; exit 3", "{{ secret }}"]
          no_log: true
      rescue:
        - name: Report the failure
          ansible.builtin.include_tasks: "{{ failed_tasks }}"
"""


def test_failed_no_log_step_secret_never_reaches_console_at_vvv_or_report_files(tmp_path) -> None:
    """playbooks/tasks/poc_failed.yml for real: before, its console message and report quoted the stderr of the
    failed no_log task (a bare secret value, no pattern to redact it: only the censoring protects it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    secret = "Qv7kL2mx9RtB4wZ0"  # noqa: S105 - test value, deliberately not shaped like a credential
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "report").mkdir()
    env = dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "atmp"),
               PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        ["ansible-playbook", "-vvv", str(tmp_path / "play.yml"), "-e", f"secret={secret}",
         "-e", f"report_dir={tmp_path / 'report'}",
         "-e", f"failed_tasks={root / 'playbooks' / 'tasks' / 'poc_failed.yml'}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "POC step 'configure the applications' failed on localhost (task 'Rewrite the app config')" in proc.stdout
    assert "exit status 3" in proc.stdout and "output hidden" in proc.stdout, proc.stdout[-3000:]
    assert secret not in proc.stdout + proc.stderr, "the secret reached the console"
    for f in ("report.json", "report.html"):
        text = (tmp_path / "report" / f).read_text()
        assert secret not in text, f"the secret reached {f}"
        assert "output hidden" in text
        assert oct((tmp_path / "report" / f).stat().st_mode & 0o777) == "0o600"
