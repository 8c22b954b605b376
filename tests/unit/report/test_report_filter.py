"""The smartt.s4.eol_findings filter (thin wrapper) on hostvars-like input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import report_fleet as fleet
import yaml
from ansible.errors import AnsibleFilterError

from s4.report import build_report

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("eol_findings", ROOT / "s4_plugins" / "filter" / "eol_findings.py")
assert _spec and _spec.loader
mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mod)
eol_findings = mod.FilterModule().filters()["eol_findings"]


def test_filter_returns_findings_and_sections():
    findings = eol_findings(fleet.hostvars(), as_of="2026-11-27")
    php = [f for f in findings if f["host"] == "mvps-acme-01" and f["product"] == "php"]
    assert php and php[0]["support_source"] == "distro"
    ng = eol_findings(fleet.hostvars(), section="not_gathered", as_of="2026-11-27")
    assert [n["host"] for n in ng] == ["mvps-initech-01"]
    interop = eol_findings(fleet.hostvars(), section="interop", as_of="2026-11-27")
    assert {i["type"] for i in interop} >= {"shared-db-server", "shared-php-runtime"}


def test_filter_errors_are_specific():
    with pytest.raises(AnsibleFilterError, match="section must be one of"):
        eol_findings(fleet.hostvars(), section="nope")
    with pytest.raises(AnsibleFilterError, match="colo-01 .colocation. is out of the S4 scope"):
        eol_findings(fleet.hostvars(only_in_scope=False))
    with pytest.raises(AnsibleFilterError, match="as_of must be a date"):
        eol_findings(fleet.hostvars(), as_of="tomorrow")
    with pytest.raises(AnsibleFilterError, match="list of hostvars"):
        eol_findings("mvps-acme-01")


def test_sections_are_the_documented_choices_and_report_keys():
    """SECTIONS, the DOCUMENTATION choices and build_report's keys agree: no section the filter cannot return."""
    doc = yaml.safe_load(mod.DOCUMENTATION)["options"]["section"]
    assert doc["choices"] == list(mod.SECTIONS) and doc["default"] == "findings"
    report = build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    assert set(mod.SECTIONS) <= set(report)
    assert "unversioned" in mod.SECTIONS


def test_unversioned_section_lists_components_without_a_version():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    facts = acme["ansible_facts"]["s4_software"]
    facts["sites"][0]["libraries"].append({"product": "npm", "version": None, "evidence": "package-lock.json",
                                           "path": "/srv/www/acme-blog/wp-content/themes/t"})
    facts["components"].append({"product": "frobd", "version": "", "kind": "runtime", "path": "/opt/frobd/bin/frobd",
                                "evidence": "binary"})
    out = eol_findings(hvs, section="unversioned", as_of="2026-11-27")
    assert out == [
        {"host": "mvps-acme-01", "site": None, "clients": ["acme"], "product": "frobd", "kind": "runtime",
         "paths": ["/opt/frobd/bin/frobd"], "evidence": ["binary"]},
        {"host": "mvps-acme-01", "site": "acme-blog", "clients": ["acme"], "product": "npm",
         "kind": "package manifest", "paths": ["/srv/www/acme-blog/wp-content/themes/t"],
         "evidence": ["package-lock.json"]},
    ]
    findings = eol_findings(hvs, as_of="2026-11-27")
    assert not [f for f in findings if f["product"] in ("npm", "frobd")]   # never judged
    assert eol_findings(fleet.hostvars(), section="unversioned", as_of="2026-11-27") == []
