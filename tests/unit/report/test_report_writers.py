"""Output files: findings.json against the committed JSON Schema, CSV columns, idempotent writes, self-contained HTML."""

from __future__ import annotations

import copy
import csv
import io
import json
import re

import jsonschema
import pytest
import report_fleet as fleet

from s4.poc import profiles
from s4.report import build_report, write_report
from s4.report.writers import CSV_COLUMNS, IMPACT_CSV_COLUMNS, SCHEMA_PATH, findings_document


@pytest.fixture(scope="module")
def schema():
    data = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(data)
    return data


@pytest.fixture(scope="module")
def report():
    return build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of=fleet.AS_OF)


@pytest.fixture(scope="module")
def written(tmp_path_factory, report):
    out = tmp_path_factory.mktemp("eol")
    write_report(report, out)
    return out


def _validate(schema, doc):
    jsonschema.Draft202012Validator(schema).validate(doc)


def test_findings_json_matches_schema(schema, written, report):
    doc = json.loads((written / "findings.json").read_text())
    _validate(schema, doc)
    assert doc["as_of"] == "2026-11-27"
    assert len(doc["findings"]) == report["summary"]["findings"]
    assert [n["host"] for n in doc["not_gathered"]] == ["mvps-initech-01"]


def test_findings_json_from_the_real_engine_matches_schema(schema):
    doc = findings_document(build_report(copy.deepcopy(fleet.hostvars()), as_of=fleet.AS_OF))
    _validate(schema, json.loads(json.dumps(doc)))


@pytest.mark.parametrize("mutate, where", [
    (lambda f: f.update(status="ended"), "status"),
    (lambda f: f.update(responsible="nobody"), "responsible"),
    (lambda f: f.pop("support_end"), "support_end"),
    (lambda f: f.update(eol="31/08/2026"), "eol"),
    (lambda f: f.update(extra=1), "extra"),
])
def test_schema_rejects_broken_findings(schema, report, mutate, where):
    doc = json.loads(json.dumps(findings_document(report)))
    mutate(doc["findings"][0])
    with pytest.raises(jsonschema.ValidationError) as exc:
        _validate(schema, doc)
    assert where in str(exc.value)


def test_findings_csv_columns_and_rows(written, report):
    rows = list(csv.DictReader(io.StringIO((written / "findings.csv").read_text())))
    with open(written / "findings.csv", newline="") as fh:
        assert next(csv.reader(fh)) == CSV_COLUMNS
    assert len(rows) == len(report["findings"])
    by_id = {r["id"]: r for r in rows}
    for f in report["findings"]:
        row = by_id[f["id"]]
        assert (row["host"], row["product"], row["version"], row["status"]) == (f["host"], f["product"], f["version"],
                                                                                f["status"])
        assert row["clients"].split(";") == (f["clients"] or [""])
        assert row["support_end"] == (f["support_end"] or "")
        assert row["responsible"] in ("provider", "client")
        assert float(row["debt"]) == f["debt"]
    php = next(r for r in rows if r["host"] == "mvps-acme-01" and r["product"] == "php")
    # Debian 11 must move: the target is what the default POC profile builds (the fake engine knows no patch
    # release of that PHP cycle, so the cycle itself)
    assert php["recommended_version"] == profiles.default_for({"distro": "debian-11"}).components["php"]
    assert php["affected_sites"] == "acme-blog@mvps-acme-01"
    with open(written / "impact.csv", newline="") as fh:
        assert next(csv.reader(fh)) == IMPACT_CSV_COLUMNS


def test_all_output_files(written, report):
    names = sorted(str(p.relative_to(written)) for p in written.rglob("*") if p.is_file())
    assert names == sorted(["report.html", "findings.json", "findings.csv", "impact.json", "impact.csv",
                            "interop.json", "licences.json", "plans.json", "debt.json", "responsible.json",
                            "unversioned.json"]
                           + [f"clients/{c}.html" for c in report["clients"]])
    resp = json.loads((written / "responsible.json").read_text())["responsible"]
    ids = {f["id"] for f in report["findings"]}
    assert set(resp["provider"]) <= ids and set(resp["client"]) <= ids


def test_writes_are_idempotent_and_check_mode_writes_nothing(tmp_path, report):
    first = write_report(report, tmp_path)
    assert "report.html" in first["changed"]
    assert write_report(report, tmp_path)["changed"] == []
    # a different as-of date changes the files; check mode reports it but writes nothing
    other = build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of="2026-12-01")
    before = (tmp_path / "findings.json").read_bytes()
    check = write_report(other, tmp_path, check=True)
    assert "findings.json" in check["changed"]
    assert (tmp_path / "findings.json").read_bytes() == before
    # a client page of a client no longer in the report is removed
    (tmp_path / "clients" / "gone.html").write_text("old")
    assert write_report(report, tmp_path)["removed"] == ["clients/gone.html"]
    assert not (tmp_path / "clients" / "gone.html").exists()


def test_report_dir_must_be_a_directory(tmp_path, report):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(NotADirectoryError):
        write_report(report, f)


@pytest.mark.parametrize("page", ["report.html", "clients/acme.html", "clients/globex.html"])
def test_html_is_self_contained(written, page):
    html = (written / page).read_text()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    refs = re.findall(r"""(?:src|href|url\()\s*=?\s*["']?(https?:)?//""", html)
    assert refs == []
    # only the SVG namespace URI may mention http
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}


def test_html_shows_the_findings_and_escapes_input(tmp_path):
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["apps"][0]["evidence"] = "<script>alert(1)</script>"
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    write_report(r, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('<tr data-id="') == len(r["findings"])
    assert 'id="not-gathered-table"' in html and 'data-host="mvps-initech-01"' in html


def test_client_page_holds_only_that_client(written, report):
    html = (written / "clients" / "globex.html").read_text()
    assert "Globex Corp" in html
    assert "globex-site" in html and "acme-blog" not in html and "initech-site" not in html
    rows = re.findall(r'<tr data-id="([0-9a-f]+)"', html)
    assert sorted(rows) == sorted(f["id"] for f in report["findings"] if "globex" in f["clients"])
    assert 'id="poc-offer"' in html and "no cost" in html
    assert 'id="must-do"' in html and "drupal" in html


@pytest.mark.parametrize("client", ["acme", "globex", "initech"])
def test_client_page_names_no_other_client(written, report, client):
    """shared-01 hosts sites of acme, globex and initech: each page shows the shared server, not its neighbours."""
    html = (written / "clients" / f"{client}.html").read_text().lower()
    others = set(report["clients"]) - {client}
    for other in others:
        assert other not in html, other
        for s in report["clients"][other]["sites"]:
            assert s.split("@")[0] not in html, s
    assert "shared-01" in html


def test_csv_cells_cannot_run_as_formulas(tmp_path):
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"][0]["evidence"] = '=HYPERLINK("x","y")'
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    write_report(r, tmp_path)
    rows = list(csv.DictReader((tmp_path / "findings.csv").open()))
    jq = next(row for row in rows if row["product"] == "jquery" and row["site"] == "acme-blog")
    assert jq["evidence"] == '\'=HYPERLINK("x","y")'
    assert any(int(row["days_left"]) < 0 for row in rows if row["days_left"])   # negative numbers stay numbers


def test_client_todo_merges_copies_of_a_library(tmp_path):
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    libs = acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"]
    for v in ("1.12.0", "1.12.1"):
        libs.append({"product": "jquery", "version": v, "path": f"/srv/www/acme-blog/old/jquery-{v}.js"})
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    write_report(r, tmp_path)
    html = (tmp_path / "clients" / "acme.html").read_text()
    must_do = html.split('id="must-do"')[1].split("</ul>")[0]
    assert must_do.count("<strong>jquery") == 1
    assert "<strong>jquery 1.12.0, 1.12.1, 1.12.4</strong>" in must_do
    assert 'id="count-must-do">3<' in html      # jquery (3 copies), wordpress 5.7 and wordpress 6.2 (acme-shop)


def test_stale_facts_are_flagged(tmp_path):
    r = build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of="2027-03-01")
    hosts = {h["name"]: h for h in r["hosts"]}
    assert hosts["mvps-acme-01"]["stale"] and hosts["mvps-acme-01"]["facts_age_days"] == 94
    assert not hosts["mvps-initech-01"]["stale"] and hosts["mvps-initech-01"]["facts_age_days"] is None
    fresh = build_report(fleet.hostvars(), engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    assert not any(h["stale"] for h in fresh["hosts"])
    write_report(r, tmp_path)
    assert html_count(tmp_path / "report.html", 'class="stale"') == 4


def html_count(path, needle):
    return path.read_text().count(needle)
