"""One story across the reports (issue #15 section 4), on facts recorded from the lab's mvps-acme-01.

* the EOL report's recommended target for a host whose OS must move is what ``poc_provision.yml`` builds by
  default for it (``s4.poc.profiles.default_for`` + the profile's stack), and says which profile;
* each target is shown with its own support end, not the current version's;
* a component without a version is listed once under "unversioned" with where it was found, never as a web app;
* the debt score is a whole number with its unit and its formula linked.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from s4 import cmdb as cmdb_mod
from s4.lifecycle import Engine
from s4.poc import profiles
from s4.report import build_report
from s4.report.findings import DEBT_FORMULA, DEBT_FORMULA_DOC
from s4.report.render import render_client, render_report

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = json.loads((ROOT / "tests" / "unit" / "poc" / "fixtures" / "lab_acme_blog.json").read_text())
AS_OF = date.fromisoformat(FIXTURE["as_of"])


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load_default()


@pytest.fixture(scope="module")
def report(engine: Engine) -> dict[str, Any]:
    db = cmdb_mod.load(ROOT / "inventories" / "lab" / "cmdb.yml")
    hv = dict(db.hostvars("mvps-acme-01"), inventory_hostname="mvps-acme-01")
    hv["s4_software"] = copy.deepcopy(FIXTURE["before"])
    return build_report([hv], engine=engine, as_of=AS_OF)


def _host_findings(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["product"]: f for f in report["findings"] if f["host"] == "mvps-acme-01" and f["scope"] == "host"}


def test_recommended_target_of_mvps_acme_01_is_the_default_poc_profiles_stack(report, engine) -> None:
    prof = profiles.default_for(FIXTURE["before"])
    stack = profiles.stack(prof, engine=engine, as_of=AS_OF)    # what poc_provision.yml resolves for it
    found = _host_findings(report)
    assert found["debian"]["status"] == "eol"                    # Debian 11: the OS must move
    recommended = {p: (f["recommended"] or {}) for p, f in found.items()}
    assert (recommended["debian"]["product"], recommended["debian"]["cycle"]) == (
        stack["os"]["product"], stack["os"]["cycle"])
    for product in ("php", "mariadb"):
        assert recommended[product]["cycle"] == stack["versions"][product], product
    shipped = engine.distro_info(prof.distro)["ships"]
    for product in ("nginx", "openssl", "python"):             # other packages: what the profile's release ships
        assert [recommended[product]["cycle"]] == shipped[product], product
    assert all(r["profile"] == prof.name for r in recommended.values())
    wp = next(f for f in report["findings"] if f["product"] == "wordpress")
    assert wp["responsible"] == "provider" and wp["recommended"]["cycle"] == shipped["wordpress"][0]
    assert wp["recommended"]["profile"] == prof.name
    host = next(h for h in report["hosts"] if h["name"] == "mvps-acme-01")
    assert host["poc_profile"] == stack
    plan = report["plans"]["hosts"]["mvps-acme-01"]["steps"]
    assert f"POC profile {prof.name}" in plan[0]["action"]
    # the site plan's WordPress step names the release the POC's Debian builds, not another upstream one
    site_steps = report["plans"]["sites"]["mvps-acme-01/acme-blog"]["steps"]
    wp_step = next(s for s in site_steps if s["product"] == "wordpress")
    assert wp_step["action"].startswith(f"Upgrade wordpress 5.7.14 to {wp['recommended']['version']} (what POC "
                                        f"profile {prof.name} builds)"), wp_step


def test_each_target_carries_its_own_support_end(report, engine) -> None:
    prof = profiles.default_for(FIXTURE["before"])
    for f in _host_findings(report).values():
        rec = f["recommended"]
        own = engine.evaluate(rec["product"], rec["cycle"], prof.distro, AS_OF, packaged=True)
        assert rec["eol"] == (own.support_end.isoformat() if own.support_end else None), f["product"]
    maria = _host_findings(report)["mariadb"]
    assert maria["recommended"]["eol"] != maria["support_end"]  # was: the current version's end shown as the target's
    html = render_client(report, "acme")
    target = maria["recommended"]
    assert (f"uplift to mariadb {target['version']} <span class=\"target-end\">(supported until {target['eol']}; "
            f"built by POC profile {prof.name})</span>") in html
    assert f"Today: support ended {maria['support_end']}" in html
    assert not re.search(r"uplift to [^<]*\(support ends", html)


def test_a_component_without_a_version_is_listed_once_as_unversioned(report) -> None:
    assert not [f for f in report["findings"] if f["product"] == "npm" or not f["version"]]
    [npm] = [u for u in report["unversioned"] if u["product"] == "npm"]
    assert npm["host"] == "mvps-acme-01" and npm["site"] == "acme-blog" and npm["clients"] == ["acme"]
    assert npm["paths"] == ["/usr/share/wordpress/wp-content/themes/twentytwentyone"]
    assert npm["kind"] == "package manifest" and npm["evidence"] == ["package-lock.json"]
    for page in (render_report(report), render_client(report, "acme")):
        assert page.count("/usr/share/wordpress/wp-content/themes/twentytwentyone</td>") == 1
    assert "npm" not in [a.split(" ")[0] for h in report["hosts"] for s in h["sites"] for a in s["apps"]
                         if " " in a and a.split(" ", 1)[1]]


def test_debt_is_a_whole_number_with_its_unit_and_formula(report) -> None:
    debt = report["debt"]
    assert all(isinstance(f["debt"], int) for f in report["findings"])
    assert isinstance(debt["hosts"]["mvps-acme-01"]["score"], int) and debt["hosts"]["mvps-acme-01"]["score"] > 0
    assert debt["unit"] == "debt points" and debt["formula_doc"] == DEBT_FORMULA_DOC
    doc = (ROOT / DEBT_FORMULA_DOC).read_text()
    assert DEBT_FORMULA in " ".join(doc.split())                 # the documented formula is the one applied
    html = render_client(report, "acme")
    assert f'<span class="n" id="debt-score">{debt["clients"]["acme"]["score"]}</span>debt points' in html
    assert 'href="#debt-formula"' in html and 'id="debt-formula"' in html and DEBT_FORMULA_DOC in html


def test_client_pages_show_no_operator_command(report) -> None:
    html = render_client(report, "acme")
    for operator_text in ("ansible-playbook", "s4_poc_", "s4_as_of", "poc_provision"):
        assert operator_text not in html, operator_text


def test_a_host_of_another_os_family_keeps_the_engines_targets(engine) -> None:
    """The default profile is a Debian release: an Ubuntu host's packages get no Debian package as target."""
    db = cmdb_mod.load(ROOT / "inventories" / "lab" / "cmdb.yml")
    hv = dict(db.hostvars("mvps-acme-01"), inventory_hostname="mvps-acme-01")
    facts = copy.deepcopy(FIXTURE["before"])
    facts["os"] = {"id": "ubuntu", "version": "20.04", "version_full": "20.04", "codename": "focal",
                   "pretty": "Ubuntu 20.04.6 LTS"}
    facts["distro"] = "ubuntu-20.04"
    facts["components"] = [c for c in facts["components"] if c["kind"] != "os"]
    hv["s4_software"] = facts
    r = build_report([hv], engine=engine, as_of=AS_OF)
    assert r["findings"] and all(f["poc_target"] is None for f in r["findings"])
    assert not [f for f in r["findings"] if (f["recommended"] or {}).get("profile")]
    os_f = next(f for f in r["findings"] if f["kind"] == "os")
    assert os_f["product"] == "ubuntu" and (os_f["recommended"] or {}).get("product") in (None, "ubuntu")
