"""Property test: any facts shaped like CONTRACTS §1 (with odd values) give a report whose findings.json validates
and whose counts add up; the builder never crashes on them."""

from __future__ import annotations

import json

import jsonschema
import report_fleet as fleet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s4.report import build_report
from s4.report.writers import SCHEMA_PATH, findings_csv, findings_document

SCHEMA = json.loads(SCHEMA_PATH.read_text())
PRODUCTS = ["php", "nginx", "mariadb", "postgresql", "debian", "wordpress", "drupal", "jquery", "nodejs", "redis",
            "frobnicator"]
versions = st.one_of(st.just(""), st.from_regex(r"\A[0-9]{1,2}(\.[0-9]{1,2}){0,3}([-+~][a-z0-9.+~]{1,8})?\Z"),
                     st.text(max_size=6))
paths = st.one_of(st.none(), st.sampled_from(["/srv/www/acme-blog", "/srv/www/acme-blog/js/x.js", "/usr/sbin/nginx",
                                              "/usr/share/wordpress", "/opt/node/bin/node", ""]))
component = st.fixed_dictionaries({
    "product": st.sampled_from(PRODUCTS), "version": versions,
    "kind": st.sampled_from(["os", "webserver", "runtime", "database", "cache", "appserver", "library", "odd"]),
    "source": st.sampled_from(["dpkg", "rpm", "binary", "apk"]), "path": paths,
}, optional={"raw_version": versions, "package": st.one_of(st.none(), st.text(max_size=8))})
app = st.fixed_dictionaries({"product": st.sampled_from(PRODUCTS), "version": versions, "path": paths})
site = st.fixed_dictionaries({
    "name": st.sampled_from(["acme-blog", "other-site", "x"]), "client": st.sampled_from(["acme", None, "ghost"]),
    "docroot": st.sampled_from(["/srv/www/acme-blog", "/usr/share/wordpress", ""]),
    "php": st.one_of(st.none(), st.fixed_dictionaries({"version": st.sampled_from(["7.4", "8.2", "", "x"])})),
    "apps": st.lists(app, max_size=3), "libraries": st.lists(app, max_size=3),
})
facts = st.fixed_dictionaries({
    "schema": st.just(1), "distro": st.sampled_from(["debian-11", "debian-12", None, "plan9-1"]),
    "os": st.one_of(st.none(), st.fixed_dictionaries({"id": st.sampled_from(["debian", ""]),
                                                      "version": st.sampled_from(["11", "12", ""])})),
    "components": st.lists(component, max_size=8), "sites": st.lists(site, max_size=3),
    "services": st.just([]), "packages": st.lists(st.fixed_dictionaries({"name": st.sampled_from(
        ["wordpress", "php7.4-fpm", "nginx"])}), max_size=3),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acme=facts, shared=facts)
def test_any_facts_give_a_valid_report(acme, shared):
    hvs = fleet.hostvars(with_facts=False)
    for hv in hvs:
        if hv["inventory_hostname"] == "mvps-acme-01":
            hv["s4_software"] = acme
        elif hv["inventory_hostname"] == "shared-01":
            hv["s4_software"] = shared
    r = build_report(hvs, engine=fleet.FakeEngine(), as_of=fleet.AS_OF)
    doc = json.loads(json.dumps(findings_document(r)))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert sum(r["summary"]["by_status"].values()) == len(r["findings"])
    assert {f["host"] for f in r["findings"]} <= {"mvps-acme-01", "shared-01"}
    assert len({f["id"] for f in r["findings"]}) == len(r["findings"])
    assert findings_csv(r["findings"]).count("\n") >= len(r["findings"]) + 1
