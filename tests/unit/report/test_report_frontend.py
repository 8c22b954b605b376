"""Front-end libraries in the EOL report: a vulnerability verdict next to the lifecycle verdict, and the client
page tells the client what to upgrade to (issue #15 section 3; s4/report/frontend.py, templates/frontend.html.j2)."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import jsonschema
import pytest
import report_fleet as fleet

from s4.report import build_report, frontend, write_report
from s4.report.analysis import debt_scores, needs_action
from s4.report.findings import DEBT_VULN, debt_points
from s4.report.render import client_view
from s4.report.writers import SCHEMA_PATH

# what the lab gathered on acme-blog (mvps-acme-01), besides the fleet's jquery 1.12.4
ACME_LIBS = [
    {"product": "lodash", "version": "4.17.20",
     "path": "/srv/www/acme-blog/wp-content/themes/twentytwentyone/package-lock.json",
     "evidence": "package-lock.json: lodash"},
    {"product": "moment", "version": "2.27.0", "path": "/srv/www/acme-blog/wp-includes/js/dist/vendor/moment.js",
     "evidence": "banner"},
    {"product": "underscore", "version": "1.8.3", "path": "/srv/www/acme-blog/wp-includes/js/dist/vendor/u.js",
     "evidence": "banner"},
    {"product": "jquery", "version": "3.5.1", "path": "/srv/www/acme-blog/js/jquery-3.5.1.js", "evidence": "banner"},
    {"product": "angularjs", "version": "1.8.3", "path": "/srv/www/acme-blog/js/angular.js", "evidence": "banner"},
]
FIXED = {"lodash": "4.18.0", "moment": "2.29.4", "underscore": "1.13.8"}


@pytest.fixture(scope="module")
def report():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"] += ACME_LIBS
    return build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    write_report(report, out)
    return out


def _f(report, product, version=None):
    return next(f for f in report["findings"] if f["product"] == product and f["site"] == "acme-blog"
                and (version is None or f["version"] == version))


def test_every_frontend_finding_has_a_vulnerability_verdict_and_others_none(report):
    for f in report["findings"]:
        if f["kind"] == "frontend":
            assert f["vulns"]["status"] in ("vulnerable", "none-known", "unknown"), f
        else:
            assert f["vulns"] is None, f


@pytest.mark.parametrize("product", sorted(FIXED))
def test_lifecycle_unknown_libraries_get_ids_fix_and_a_target(report, product):
    f = _f(report, product)
    assert f["status"] == "unknown"                       # no lifecycle data (the fake engine, like the catalog)
    v = f["vulns"]
    assert v["status"] == "vulnerable" and v["severity"] == "high" and v["fixed_version"] == FIXED[product]
    assert all(re.match(r"^(CVE-\d{4}-\d+|GHSA(-[a-z0-9]{4}){3})$", i) for i in v["ids"])
    assert f["recommended"]["version"] == FIXED[product] and f["recommended"]["basis"] == "vulnerabilities"
    assert needs_action(f) and f in report["responsible"]["client"]


def test_acme_ids_in_the_report(report):
    assert {"CVE-2021-23337", "GHSA-35jh-r3h4-6jhm", "CVE-2020-28500", "GHSA-r5fr-rjxr-66jc"} <= set(
        _f(report, "lodash")["vulns"]["ids"])
    assert set(_f(report, "moment")["vulns"]["ids"]) == {"CVE-2022-24785", "GHSA-8hfj-j24r-96c4",
                                                         "CVE-2022-31129", "GHSA-wc69-rhjr-hc9g"}
    assert set(_f(report, "underscore")["vulns"]["ids"]) == {"CVE-2021-23358", "GHSA-cf4h-3jhx-xvhq",
                                                             "CVE-2026-27601", "GHSA-qpx9-hpmf-5gmw"}


def test_lifecycle_target_kept_when_it_is_clean(report):
    f = _f(report, "jquery", "1.12.4")                  # eol: the fake engine recommends jquery 3.7.1
    assert f["vulns"]["status"] == "vulnerable" and f["vulns"]["fixed_version"] == "3.5.0"
    assert f["recommended"]["version"] == "3.7.1" and f["recommended"].get("basis") is None
    assert not frontend.is_vulnerable({"vulns": frontend.verdict("frontend", "jquery", "3.7.1")})


def test_no_fixed_version_is_said_and_no_target_invented(report):
    f = _f(report, "angularjs")
    assert f["vulns"]["status"] == "vulnerable" and f["vulns"]["fixed_version"] is None
    assert f["recommended"] is None
    assert "no fixed version exists" in frontend.upgrade_text(f)


def test_clean_library_follows_its_lifecycle_only(report):
    f = _f(report, "jquery", "3.5.1")                   # the fake engine's jquery 3.5 cycle ended 2020-06-01
    assert f["vulns"]["status"] == "none-known" and not frontend.is_vulnerable(f)
    assert f["status"] == "eol" and needs_action(f)
    assert frontend.upgrade_text(f, needs_action) == "jquery 3.7.1"
    assert frontend.upgrade_text({**f, "status": "supported"}, needs_action) == ""


def test_engine_target_with_advisories_is_raised_past_them():
    vulns = frontend.verdict("frontend", "jquery", "1.12.4")
    rec = {"product": "jquery", "cycle": "3", "version": "3.4.1", "eol": None, "reason": "stay on 3"}
    out = frontend.target(rec, vulns, "jquery")
    assert out["version"] == "3.5.0" and out["cycle"] == "3" and "3.4.1 has known advisories" in out["reason"]
    alt = {"product": "angular", "cycle": "20", "version": "20.3.0", "eol": None, "reason": "successor"}
    assert frontend.target(alt, frontend.verdict("frontend", "angularjs", "1.8.3"), "angularjs") is alt
    assert frontend.target(rec, None, "jquery") is rec


def test_site_plan_upgrades_the_vulnerable_libraries(report):
    steps = report["plans"]["sites"]["mvps-acme-01/acme-blog"]["steps"]
    actions = [s["action"] for s in steps]
    for product, fixed in FIXED.items():
        assert any(a.startswith(f"Upgrade front-end library {product} ") and a.endswith(f"{product} {fixed}")
                   for a in actions), actions


def test_findings_json_validates_and_keeps_links(written):
    doc = json.loads((written / "findings.json").read_text())
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(doc)
    lodash = next(f for f in doc["findings"] if f["product"] == "lodash")
    assert all(a["link"] is None or a["link"].startswith("https://") for a in lodash["vulns"]["advisories"])
    assert lodash["vulns"]["source"].startswith("Retire.js fd8df0d6f1")


def test_csv_has_one_vulnerability_column(written):
    rows = list(csv.DictReader(io.StringIO((written / "findings.csv").read_text())))
    lodash = next(r for r in rows if r["product"] == "lodash")
    assert lodash["vulns"].startswith("high: CVE-2021-23337") and lodash["vulns"].endswith("fixed in 4.18.0")
    assert next(r for r in rows if r["kind"] == "os")["vulns"] == ""


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


def test_client_page_front_end_section(written):
    page = (written / "clients" / "acme.html").read_text()
    sec = page[page.index('<section id="frontend">'):]
    sec = sec[:sec.index("</section>")]
    rows = {m.group(1): _text(m.group(0)) for m in re.finditer(r'<tr data-product="([^"]+)".*?</tr>', sec, re.S)}
    assert set(rows) == {"jquery", "lodash", "moment", "underscore", "angularjs"}
    assert "lodash 4.18.0 or later" in rows["lodash"] and "CVE-2021-23337" in rows["lodash"]
    assert "moment 2.29.4 or later" in rows["moment"] and "GHSA-wc69-rhjr-hc9g" in rows["moment"]
    assert "underscore 1.13.8 or later" in rows["underscore"] and "CVE-2021-23358" in rows["underscore"]
    assert "no fixed version exists" in rows["angularjs"]
    assert "Retire.js fd8df0d6f1 (2026-08-22)" in _text(sec)
    # the to-do list names the target and the vulnerability badge
    todo = _text(page[page.index('<section id="must-do">'):page.index('<section id="frontend">')])
    assert "lodash 4.17.20 on acme-blog: upgrade to lodash 4.18.0 (first release without a known vulnerability)" in todo
    assert "5 advisories, high" in todo


def test_client_page_shows_only_its_own_libraries(report):
    view = client_view(report, "globex")
    assert all("acme" not in (r["site"] or "") for r in view["frontend"])


def test_fleet_findings_table_has_one_vulnerability_column(written):
    page = (written / "report.html").read_text()
    table = page[page.index('id="findings-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("Vulnerabilities</th>") == 1
    row = next(r for r in re.findall(r'<tr data-id=.*?</tr>', table, re.S) if ">lodash<" in r)
    assert "5 advisories, high" in _text(row)


def test_untrusted_library_names_and_versions_are_escaped(tmp_path):
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"] += [
        {"product": "<script>x</script>", "version": "1.0", "path": "/srv/www/acme-blog/a.js", "evidence": "b"},
        {"product": "lodash", "version": "4.17.20\"><script>y</script>", "path": "/srv/www/acme-blog/b.js",
         "evidence": "b"}]
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    write_report(r, tmp_path)
    page = (tmp_path / "clients" / "acme.html").read_text()
    assert "<script>x" not in page and "<script>y" not in page and "&lt;script&gt;x" in page
    bad = next(f for f in r["findings"] if f["version"].startswith("4.17.20\""))
    assert bad["vulns"]["status"] == "unknown"


def test_copies_with_the_same_advice_are_one_row():
    """globex-www ships 34 jQuery copies: one row per site, library and advice, with the union of advisories."""
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"] += [
        {"product": "jquery", "version": v, "path": f"/srv/www/acme-blog/js/jquery-{v}/jquery.js", "evidence": "b"}
        for v in ("1.12.2", "1.12.3")]
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    rows = [x for x in client_view(r, "acme")["frontend"] if x["product"] == "jquery"]
    old = [x for x in rows if x.get("copies")]
    assert len(rows) == 1 and len(old) == 1                 # three 1.12.x copies, the same advice: one row
    assert old[0]["version"] == "1.12.2, 1.12.3, 1.12.4" and old[0]["copies"] == 3 and old[0]["status"] == "eol"
    ids = {v: set(frontend.verdict("frontend", "jquery", v)["ids"]) for v in ("1.12.2", "1.12.3", "1.12.4")}
    assert ids["1.12.3"] - ids["1.12.2"]                     # the copies differ: the row has them all
    assert set(old[0]["vulns"]["ids"]) == set().union(*ids.values())
    assert old[0]["upgrade"] == "jquery 3.7.1 (first release without a known advisory: 3.5.0)"


# ---------------------------------------------------------------------- debt of known-vulnerable libraries


def test_vulnerable_library_without_lifecycle_data_carries_severity_weighted_debt(report):
    """lodash/moment/underscore have no lifecycle data (status unknown: 0 status points) but Retire.js advisories:
    their debt is the worst advisory's points x exposure, not 0."""
    for product in FIXED:
        f = _f(report, product)
        assert f["status"] == "unknown" and f["vulns"]["severity"] == "high"
        assert f["debt"] == int(DEBT_VULN["high"] * f["exposure"] + 0.5) > 0, product


def test_real_engine_lodash_with_retire_js_advisories_is_debt_on_the_client_score():
    """The real catalog and the project's Retire.js data: lodash 4.17.15 (CVE-2020-8203, high) on a public site."""
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"] += [
        {"product": "lodash", "version": "4.17.15", "path": "/srv/www/acme-blog/js/lodash.js", "evidence": "b"}]
    without = fleet.hostvars()
    r, r0 = build_report(hvs, as_of=fleet.AS_OF), build_report(without, as_of=fleet.AS_OF)
    f = _f(r, "lodash", "4.17.15")
    assert f["status"] == "unknown" and f["public"] and f["exposure"] == 2.0
    assert f["vulns"]["status"] == "vulnerable" and "CVE-2020-8203" in f["vulns"]["ids"]
    assert f["vulns"]["severity"] == "high" and f["debt"] == 12                  # 6 points x 2 (public)
    assert r["debt"]["clients"]["acme"]["score"] == r0["debt"]["clients"]["acme"]["score"] + 12
    assert r["debt"]["hosts"]["mvps-acme-01"]["score"] == r0["debt"]["hosts"]["mvps-acme-01"]["score"] + 12


@pytest.mark.parametrize(("status", "days_left", "severity", "want"), [
    ("unknown", None, None, 0),            # no lifecycle data, no known advisory: no debt
    ("unknown", None, "critical", 20),
    ("unknown", None, "high", 12),
    ("supported", 900, "medium", 6),
    ("unknown", None, "low", 2),
    ("unknown", None, "unknown", 6),       # an advisory without a severity: as medium
    ("eol", -365, "critical", 40),         # the higher of the two, not their sum: eol a year on = 20 x 2
    ("eol", 0, "critical", 20),
    ("security-only", 100, "low", 2),
    ("eol-soon", 30, "medium", 8),         # eol-soon 4 beats medium 3
])
def test_debt_points_take_the_higher_of_status_and_worst_advisory(status, days_left, severity, want):
    assert debt_points(status, days_left, 2.0, severity) == want


def test_clean_versions_and_back_end_findings_carry_no_vulnerability_debt(report):
    clean = _f(report, "jquery", "3.5.1")                        # none-known: lifecycle points only
    assert clean["debt"] == debt_points(clean["status"], clean["days_left"], clean["exposure"])
    for f in report["findings"]:
        if f["kind"] != "frontend":
            assert f["debt"] == debt_points(f["status"], f["days_left"], f["exposure"])
    assert debt_scores(report["findings"], [])["clients"]["acme"]["score"] == report["debt"]["clients"]["acme"]["score"]


def test_client_page_front_end_table_shows_each_rows_debt(written, report):
    page = (written / "clients" / "acme.html").read_text()
    sec = page[page.index('<section id="frontend">'):]
    sec = sec[:sec.index("</section>")]
    assert "Debt</th>" in sec
    cells = {m.group(1): int(m.group(2)) for m in re.finditer(
        r'<tr data-product="([^"]+)".*?<td class="debt" data-sort="(\d+)">', sec, re.S)}
    assert cells["lodash"] == _f(report, "lodash")["debt"] == 12
    assert cells["moment"] == _f(report, "moment")["debt"] > 0


def test_merged_copies_carry_the_sum_of_their_debt():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"] += [
        {"product": "jquery", "version": v, "path": f"/srv/www/acme-blog/js/jquery-{v}/jquery.js", "evidence": "b"}
        for v in ("1.12.2", "1.12.3")]
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    row = next(x for x in client_view(r, "acme")["frontend"] if x["product"] == "jquery" and x.get("copies"))
    each = [f["debt"] for f in r["findings"] if f["product"] == "jquery" and f["site"] == "acme-blog"
            and f["version"].startswith("1.12.")]
    assert len(each) == 3 and row["debt"] == sum(each) > 0
