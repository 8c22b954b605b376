"""The POC report's verdicts are the lifecycle engine's, asked as ``s4 lifecycle`` asks (issue #15 section 4).

Facts recorded from the lab (``fixtures/lab_acme_blog.json``): mvps-acme-01 (Debian 11) before, its POC built with
the default profile after. Every component of the POC report must get the verdict ``s4 lifecycle PRODUCT VERSION
--distro <distro> --packaged yes|no --as-of D`` prints for it: the source's distro before, the POC's after.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from s4.cli import main
from s4.lifecycle import Engine
from s4.poc import profiles, report

FIXTURE = json.loads((Path(__file__).with_name("fixtures") / "lab_acme_blog.json").read_text())
AS_OF = date.fromisoformat(FIXTURE["as_of"])


def _cli(capsys: pytest.CaptureFixture[str], call: dict[str, Any], as_of: str) -> dict[str, Any]:
    argv = ["lifecycle", call["product"], call["version"], "--as-of", as_of,
            "--packaged", "yes" if call["packaged"] else "no", "--json"]
    if call["distro"]:
        argv += ["--distro", call["distro"]]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_every_component_of_the_lab_poc_gets_the_s4_lifecycle_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    prof = profiles.default_for(FIXTURE["before"])
    assert FIXTURE["after"]["distro"] == prof.distro         # the recorded POC was built with the default profile
    plan = {"name": "poc-acme-acme-blog", "source": "mvps-acme-01", "client": "acme", "scope": "site",
            "site": "acme-blog", "profile": prof.to_dict(), "versions": {}, "sites": []}
    rep = report.build(plan, vm={}, before=FIXTURE["before"], after=FIXTURE["after"], integrity={"passed": True},
                       interop=[], access={}, commands={}, engine=Engine.load_default(), as_of=AS_OF)
    rows = {r["product"]: r for r in rep["versions"]}
    assert set(rows) == {"php", "mariadb", "nginx", "apache-http-server", "debian"}
    compared = 0
    for r in rows.values():
        for side, distro in (("before", FIXTURE["before"]["distro"]), ("after", prof.distro)):
            call = r[f"{side}_call"]
            if call is None:
                assert r[side] is None
                continue
            assert call["distro"] == distro
            cli = _cli(capsys, call, FIXTURE["as_of"])
            assert r[f"{side}_verdict"] == {k: cli[k] for k in report.VERDICT_KEYS}, (r["product"], side)
            compared += 1
    assert compared == 9                                      # apache only on the POC
    # the packaged nginx of the POC's Debian release is judged with that release's support, not upstream's
    nginx = rows["nginx"]["after_verdict"]
    assert nginx["source"] == "distro" and nginx["status"] != "eol", nginx
    assert rows["php"]["before_verdict"]["status"] == "eol"
    html = report.render_html(rep)
    assert "--distro DISTRO" in html and f"{prof.distro}" in html


def test_components_outside_the_package_manager_are_not_credited_to_the_distro() -> None:
    comp = {"product": "nodejs", "version": "20.18.0", "raw_version": "20.18.0", "source": "binary"}
    assert report.lifecycle_call(comp, "debian-13") == {"product": "nodejs", "version": "20.18.0",
                                                         "distro": "debian-13", "packaged": False}
    pkg = {"product": "php", "version": "8.4.28", "raw_version": "8.4.28-1~deb13u1", "source": "dpkg"}
    assert report.lifecycle_call(pkg, "debian-13")["packaged"] is True
    assert report.lifecycle_call(pkg, "debian-13")["version"] == "8.4.28-1~deb13u1"   # as found, revision kept


def test_default_profile_choice_follows_the_policy(tmp_path: Path) -> None:
    pol = tmp_path / "policy.yaml"
    pol.write_text("poc_profiles:\n  default: debian13\n  families: {debian: debian12}\n")
    assert profiles.default_name({"os": {"id": "debian"}}, pol) == "debian12"
    assert profiles.default_name({"distro": "debian-11"}, pol) == "debian12"      # family of the distro id
    assert profiles.default_name({"distro": "rhel-9"}, pol) == "debian13"         # not listed: the default
    assert profiles.default_name(None, pol) == "debian13"
    pol.write_text("poc_profiles:\n  families: {debian: debian12}\n")
    with pytest.raises(profiles.ProfileError, match="poc_profiles.default"):
        profiles.default_name({"distro": "debian-11"}, pol)
    pol.write_text("poc_profiles:\n  default: debian13\n  families: {debian: ../../etc/x}\n")
    with pytest.raises(profiles.ProfileError, match="not a profile name"):
        profiles.default_name({"distro": "debian-11"}, pol)
    # the committed policy names a profile that loads, and its stack is what the playbook's filter resolves
    prof = profiles.default_for({"distro": "debian-11"})
    stack = profiles.stack(prof, engine=Engine.load_default(), as_of=AS_OF)
    assert stack["distro"] == prof.distro and set(stack["versions"]) <= set(prof.provides)
    assert all(v in prof.provides[p] for p, v in stack["versions"].items())
