"""A release notice offers what the POC builds (issue #15 section 4), on facts recorded from the lab.

The lab's acme-blog runs Debian 11's packaged WordPress (Smartt manages it); the WordPress 7.1 notice used to offer
7.1 while the POC of that site builds Debian 13's WordPress. The notice must offer what the POC builds, say the
newer upstream release is not in the POC profile, and show no operator command.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

from s4 import cmdb as cmdb_mod
from s4.lifecycle import Engine
from s4.poc import profiles
from s4.releasewatch.notices import build_notice, operator_commands
from s4.releasewatch.site import SiteConfig
from s4.report import build_report

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = json.loads((ROOT / "tests" / "unit" / "poc" / "fixtures" / "lab_acme_blog.json").read_text())
AS_OF = date.fromisoformat(FIXTURE["as_of"])
WP71 = {"id": "wordpress-7.1", "kind": "cycle", "product": "wordpress", "label": "WordPress", "cycle": "7.1",
        "version": "7.1.1", "released": "2026-10-13", "ready_on": "2026-11-12", "reason": "test", "lts": False,
        "eoas": None, "eol": False, "eoes": None, "title": "WordPress 7.1 is ready (7.1.1)", "decided_on": "2026-12-07"}


def test_wordpress_notice_offers_what_the_poc_builds() -> None:
    engine = Engine.load_default()
    db = cmdb_mod.load(ROOT / "inventories" / "lab" / "cmdb.yml")
    hv = dict(db.hostvars("mvps-acme-01"), inventory_hostname="mvps-acme-01")
    hv["s4_software"] = copy.deepcopy(FIXTURE["before"])
    report = build_report([hv], engine=engine, as_of=AS_OF)
    wp = [f for f in report["findings"] if f["product"] == "wordpress"]
    prof = profiles.default_for(FIXTURE["before"])
    built = engine.distro_info(prof.distro)["ships"]["wordpress"][0]
    assert wp[0]["responsible"] == "provider" and wp[0]["poc_target"]["cycle"] == built
    # the POC of this site really built that release (recorded facts of the POC)
    [after_wp] = [a for s in FIXTURE["after"]["sites"] for a in s["apps"] if a["product"] == "wordpress"]
    assert after_wp["version"].startswith(built + ".")
    msg = build_notice({"id": "acme", "name": "Acme Ltd"}, [WP71], {"wordpress-7.1": wp}, SiteConfig(),
                       "s4@smartt.example", AS_OF, ["ops@acme.example"])
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    end = wp[0]["poc_target"]["eol"]
    assert (f"uplift wordpress 5.7.14 on mvps-acme-01 to WordPress {built} (supported until {end}; what POC profile "
            f"{prof.name} builds); WordPress 7.1 is newer upstream, not in the POC profile") in text
    assert f"to WordPress {built} (supported until {end}" in html
    assert "to WordPress 7.1" not in text
    for body in (text, html):
        assert "ansible-playbook" not in body and "s4_poc_" not in body
    assert operator_commands([WP71], {"wordpress-7.1": wp}) == [
        f"ansible-playbook playbooks/poc_provision.yml -e s4_poc_source=mvps-acme-01 -e s4_poc_profile={prof.name}"]
