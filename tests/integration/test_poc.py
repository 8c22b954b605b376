"""POC pipeline against the lab: acme (WordPress + MariaDB 10.5 -> Debian 13) and globex (PostgreSQL 13 apps ->
Debian 13 / PostgreSQL 17).

One provision per source is shared by the checks of its class (session fixtures `acme`, `globex` in conftest.py):
full run green, a rerun with changed=0 (acme), the source's data manifest identical before and after, bad input
refused before any change, teardown leaving no container, no inventory entry, no report behind. Needs
`scripts/lab up` (the lab's PVE server included).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from poc_support import (
    INVENTORY_POC,
    POC_SECRETS_DIR,
    ROOT,
    Poc,
    entry,
    playbook,
    podman_names,
    pve_env,
    source_manifest,
    vm_container,
    vm_exec,
)

from s4.lab import topology
from s4.state import now as state_now
from s4.state import open_store
from s4.state import poc as state_poc

pytestmark = [pytest.mark.integration, pytest.mark.slow]

def test_bad_input_is_refused_before_any_change() -> None:
    before = set(podman_names())
    cases = [
        (["-e", "s4_poc_source=nope-01"], "unknown source 'nope-01'"),
        (["-e", "s4_poc_source=colo-01"], "out of scope"),
        (["-e", "s4_poc_source=mvps-acme-01", "-e", "s4_poc_site=nosuch"], "unknown site 'nosuch'"),
        (["-e", "s4_poc_source=mvps-acme-01", "-e", '{"s4_poc_versions": {"php": "7.4"}}'],
         "php 7.4 is not provided by template 9000"),
    ]
    for extra, msg in cases:
        rc, out, _ = playbook("poc_provision.yml", *extra)
        assert rc != 0 and msg in out, out[-2000:]
    env = pve_env()
    env["PVE_TOKEN_SECRET"] = "00000000-0000-0000-0000-000000000000"
    env.pop("PVE_PASSWORD", None)
    rc, out, _ = playbook("poc_provision.yml", "-e", "s4_poc_source=mvps-acme-01", env=env)
    assert rc != 0 and "Proxmox connect failed" in out and "401" in out, out[-2000:]
    assert set(podman_names()) == before
    assert not list(INVENTORY_POC.glob("*.yml")) or all(
        p.stem.startswith("poc-") for p in INVENTORY_POC.glob("*.yml"))


def test_acme_full_run_is_green(acme: Poc) -> None:
    rc, out, recap = acme.runs[0]
    assert rc == 0, out[-5000:]
    rep = acme.report
    assert rep["status"] == "passed" and rep["integrity"]["passed"]
    assert all(i["passed"] for i in rep["interop"])
    checks = {i["check"] for i in rep["interop"]}
    assert {"http blog.acme.example", "http acme-blog.poc.smartt.example", "served PHP version (blog.acme.example)",
            "service php8.4-fpm.service", "service mariadb.service"} <= checks
    versions = {v["product"]: v for v in rep["versions"]}
    assert versions["php"]["before"].startswith("7.4") and versions["php"]["after"].startswith("8.4")
    assert versions["mariadb"]["after"].startswith("11.8")
    assert versions["php"]["before_verdict"]["status"] == "eol"
    # WordPress 5.7 does not support PHP 8.4: the client is told
    assert any("wordpress" in i["message"] for i in rep["issues"])
    assert "poc_teardown.yml" in rep["commands"]["teardown"]
    assert (ROOT / "reports" / "poc" / acme.name / "report.html").read_text().count("passed") >= 1


def test_acme_credentials_are_private_on_the_vm_and_not_logged(acme: Poc) -> None:
    assert acme.vmid is not None
    modes = vm_exec(acme.vmid, f"stat -c '%a %U %n' {POC_SECRETS_DIR} {POC_SECRETS_DIR}/credentials "
                               f"{POC_SECRETS_DIR}/access.yml {POC_SECRETS_DIR}/credentials/*")
    assert modes.returncode == 0, modes.stderr
    lines = modes.stdout.split("\n")
    assert lines[0].startswith("700 root") and lines[1].startswith("700 root"), modes.stdout
    assert all(ln.startswith("600 root") for ln in lines[2:] if ln), modes.stdout
    access = vm_exec(acme.vmid, f"cat {POC_SECRETS_DIR}/access.yml")
    assert access.returncode == 0
    secrets = yaml.safe_load(access.stdout)["database_accounts"]
    assert secrets and all(len(p) == 24 for p in secrets.values())
    # nothing of the POC's secrets is kept on the controller
    assert not (ROOT / ".cache" / "s4" / "poc" / acme.name / "credentials").exists()
    assert acme.report["access"]["credentials_file"] == f"root@{acme.name}:{POC_SECRETS_DIR}/access.yml"
    for _, out, _ in acme.runs:
        assert all(p not in out for p in secrets.values())
    assert all(p not in json.dumps(acme.report) for p in secrets.values())


def test_acme_rerun_changes_nothing(acme: Poc) -> None:
    assert len(acme.runs) == 2
    rc, out, recap = acme.runs[1]
    assert rc == 0, out[-5000:]
    assert recap and all(r["changed"] == 0 and r["failed"] == 0 for r in recap.values()), recap


def test_acme_source_is_untouched(acme: Poc, ssh: Callable[..., Any]) -> None:
    assert source_manifest(ssh, acme.source, acme.roots) == acme.manifest_before


def test_acme_vm_is_in_the_inventory_and_tagged(acme: Poc) -> None:
    e = entry(acme.name)
    assert e["ansible_host"].startswith("10.89.40.") and acme.vmid is not None
    assert vm_container(acme.vmid) in podman_names()
    assert "StrictHostKeyChecking=accept-new" in e["ansible_ssh_common_args"]
    assert e["s4_poc"]["hosts_lines"][0].startswith(e["ansible_host"] + " acme-blog.poc.smartt.example")


def _store_record(name: str) -> dict[str, Any]:
    """The POC's record in the state store the playbooks use (S4_STATE_URL, else the checkout's default)."""
    store = open_store()
    assert store is not None
    with store:
        return state_poc.get(store, name) or {}


def test_acme_is_recorded_in_the_state_store(acme: Poc) -> None:
    rec = _store_record(acme.name)
    assert rec["status"] in ("provisioned", "rolled-back", "live") and rec["outcome"] == "ok", rec
    assert rec["vmid"] == acme.vmid and rec["source_host"] == acme.source and rec["sites"] == ["acme-blog"]
    assert rec["client"] == "acme" and rec["profile"] == "debian13" and rec["provisioned_at"]


def test_golive_refuses_an_unknown_poc_and_one_without_a_passing_provision(acme: Poc) -> None:
    rc, out, _ = playbook("poc_golive.yml", "-e", "s4_poc_name=poc-nope-nope")
    assert rc != 0 and "not a provisioned POC" in out
    store = open_store()
    assert store is not None
    with store:
        before = state_poc.get(store, acme.name)
        assert before is not None and before["outcome"] == "ok"
        # a provision whose gate failed (recorded as poc_provision.yml records it): go-live is refused
        state_poc.record_step(store, acme.name, "provision", outcome="failed", started_at=state_now(),
                              detail="test: integrity gate failed")
    try:
        rc, out, recap = playbook("poc_golive.yml", "-e", f"s4_poc_name={acme.name}")
        assert rc != 0 and "has no passing provision" in out, out[-3000:]
        assert acme.name not in recap  # refused before the final sync touched the POC
    finally:
        with store:
            state_poc.record_step(store, acme.name, "provision", outcome="ok", started_at=state_now(),
                                  detail="test: restored")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect (WordPress's canonical host) is an answer, not something to follow


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _through_source(source: str, name: str, path: str = "/") -> tuple[int, dict[str, str], str]:
    """GET http://<source address><path> with the site's Host header (what a client whose DNS still points at the
    source gets); redirects are returned, not followed."""
    req = urllib.request.Request(f"http://{topology.host(source).address}{path}", headers={"Host": name})
    try:
        with _OPENER.open(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def _web_config(ssh: Callable[..., Any], host: str) -> str:
    """The source's enabled vhosts (names, link targets, content hashes) and web server modules."""
    return ssh(host, "cd /etc && for d in nginx/sites-enabled apache2/sites-enabled apache2/mods-enabled; do "
                     "[ -d $d ] && for f in $d/*; do echo \"$f $(readlink $f) $(sha256sum < $f)\"; done; done; "
                     "echo state: $(ls -d /var/lib/s4-golive/*/ 2>/dev/null)").stdout


def _golive(poc: Poc, *extra: str) -> tuple[int, str, dict[str, dict[str, int]]]:
    return playbook("poc_golive.yml", "-e", f"s4_poc_name={poc.name}", *extra)


def test_acme_golive_switch_and_rollback_end_to_end(acme: Poc, ssh: Callable[..., Any]) -> None:
    names = ["blog.acme.example", "www.blog.acme.example"]
    web_before = _web_config(ssh, acme.source)
    assert web_before.rstrip().endswith("state:")  # no go-live state on the source
    golive_file = INVENTORY_POC / f"{acme.name}.golive.yml"

    # without confirmation: final sync + plan, nothing switched
    rc, out, _ = _golive(acme)
    assert rc == 0, out[-4000:]
    assert "Rollback" in (ROOT / "reports" / "poc" / acme.name / "golive-plan.md").read_text()
    assert _web_config(ssh, acme.source) == web_before and not golive_file.exists()

    # confirmed: the source proxies every site name to the POC (only the POC answers the PHP probe: 8.4)
    rc, out, _ = _golive(acme, "-e", f"s4_poc_golive_confirm={acme.name}")
    assert rc == 0, out[-4000:]
    for n in names:
        status, headers, body = _through_source(acme.source, n, "/.s4-poc-php-version")
        assert status == 200 and body.startswith("8.4."), (n, status, body[:200])
        assert headers.get("X-S4-Golive") == acme.name
        status, headers, body = _through_source(acme.source, n)
        assert (status == 200 and "wp-content" in body) or (status == 301 and "blog.acme.example" in headers["Location"])
    live = yaml.safe_load(golive_file.read_text())["all"]["children"]["s4_poc"]["hosts"][acme.name]["s4_poc_dns_live"]
    assert sorted(r["name"] for r in live) == names and {r["value"] for r in live} == {entry(acme.name)["ansible_host"]}
    assert ssh(acme.source, "readlink /var/lib/s4-golive/*/disabled/nginx/acme-blog").stdout.strip() == \
        "../sites-available/acme-blog"  # moved aside, not edited
    assert _store_record(acme.name)["status"] == "live"  # what every later job sees, whatever its checkout

    # live: a repeated confirmation changes nothing; the final sync and the teardown are refused
    rc, out, recap = _golive(acme, "-e", f"s4_poc_golive_confirm={acme.name}")
    assert rc == 0 and all(r["changed"] == 0 for r in recap.values()), out[-3000:]
    rc, out, _ = _golive(acme)
    assert rc != 0 and "is live" in out and "Roll back first" in out
    rc, out, _ = playbook("poc_teardown.yml", "-e", f"s4_poc_name={acme.name}")
    assert rc != 0 and "is live" in out and acme.vmid is not None and vm_container(acme.vmid) in podman_names()

    # a rollback that fails (its state file on the source is unreadable) is recorded as a failed step; the POC
    # stays live, and the run names the failed task (issue #16: every attempt is in the timesheet)
    state_json = f"/var/lib/s4-golive/{acme.name}/state.json"
    ssh(acme.source, f"cp -p {state_json} {state_json}.s4test && printf '{{broken' > {state_json}")
    try:
        rc, out, _ = _golive(acme, "-e", f"s4_poc_golive_rollback={acme.name}")
    finally:
        ssh(acme.source, f"mv -f {state_json}.s4test {state_json}")
    assert rc != 0 and "recorded in the state store" in out, out[-3000:]
    rec = _store_record(acme.name)
    assert rec["status"] == "live" and rec["outcome"] == "failed", rec
    store = open_store()
    assert store is not None
    with store:
        last = state_poc.events(store, acme.name)[-1]
    assert (last.step, last.outcome, last.status_after) == ("rollback", "failed", "live"), last
    assert last.detail and last.detail.startswith("failed at: "), last

    # rollback: the source serves its sites itself again, configuration exactly as before, records withdrawn
    rc, out, _ = _golive(acme, "-e", f"s4_poc_golive_rollback={acme.name}")
    assert rc == 0, out[-4000:]
    assert _web_config(ssh, acme.source) == web_before and not golive_file.exists()
    assert _store_record(acme.name)["status"] == "rolled-back"
    for n in names:
        status, headers, body = _through_source(acme.source, n, "/.s4-poc-php-version")
        assert "X-S4-Golive" not in headers and not body.startswith("8.4."), (n, status)
        assert _through_source(acme.source, n)[0] in (200, 301)
    rc, out, recap = _golive(acme, "-e", f"s4_poc_golive_rollback={acme.name}")
    assert rc == 0 and all(r["changed"] == 0 for r in recap.values()), out[-3000:]
    assert source_manifest(ssh, acme.source, acme.roots) == acme.manifest_before


def test_golive_refuses_confirm_and_rollback_together(acme: Poc) -> None:
    rc, out, recap = _golive(acme, "-e", f"s4_poc_golive_confirm={acme.name}", "-e",
                             f"s4_poc_golive_rollback={acme.name}")
    assert rc != 0 and "exclusive" in out and acme.name not in recap


def test_globex_full_run_is_green(globex: Poc, ssh: Callable[..., Any]) -> None:
    rc, out, _ = globex.runs[0]
    assert rc == 0, out[-5000:]
    rep = globex.report
    assert rep["status"] == "passed" and rep["integrity"]["passed"]
    names = {c["name"] for c in rep["integrity"]["checks"]}
    assert {"database globex_roundcube", "database globex_crm"} <= names
    versions = {v["product"]: v for v in rep["versions"]}
    assert versions["postgresql"]["before"].startswith("13") and versions["postgresql"]["after"].startswith("17")
    assert all(i["passed"] for i in rep["interop"]), [i for i in rep["interop"] if not i["passed"]]
    assert source_manifest(ssh, globex.source, globex.roots) == globex.manifest_before


def test_globex_golive_switch_and_rollback_on_apache(globex: Poc, ssh: Callable[..., Any]) -> None:
    """Apache: the proxy modules the switch enables are disabled again by the rollback."""
    web_before = _web_config(ssh, globex.source)
    rc, out, _ = _golive(globex, "-e", f"s4_poc_golive_confirm={globex.name}")
    assert rc == 0, out[-4000:]
    for n in ["mail.globex.example", "www.globex.example", "globex.example"]:
        status, headers, body = _through_source(globex.source, n, "/.s4-poc-php-version")
        assert status == 200 and body.startswith("8.4.") and headers.get("X-S4-Golive") == globex.name, (n, status)
    assert "proxy_http.load" in _web_config(ssh, globex.source)
    rc, out, _ = _golive(globex, "-e", f"s4_poc_golive_rollback={globex.name}")
    assert rc == 0, out[-4000:]
    assert _web_config(ssh, globex.source) == web_before
    assert source_manifest(ssh, globex.source, globex.roots) == globex.manifest_before
