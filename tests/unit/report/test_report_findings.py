"""Findings: derived from facts + CMDB + engine; responsibility; scope; not-gathered hosts; status window; debt."""

from __future__ import annotations

import copy
import datetime as _dt
import json

import pytest
import report_fleet as fleet

from s4.report import ReportInputError, build_report
from s4.report.findings import debt_points, exposure_of, judge_status
from s4.report.model import normalise_hosts


def _report(hvs=None, **kw):
    kw.setdefault("engine", fleet.FakeEngine())
    kw.setdefault("as_of", fleet.AS_OF)
    return build_report(hvs if hvs is not None else fleet.hostvars(), **kw)


def _find(report, host, product, site=None):
    hits = [f for f in report["findings"] if f["host"] == host and f["product"] == product and f["site"] == site]
    assert len(hits) == 1, (host, product, site, hits)
    return hits[0]


def test_php_on_debian_11_is_judged_with_distro_support():
    engine = fleet.FakeEngine()
    r = _report(engine=engine)
    php = _find(r, "mvps-acme-01", "php")
    assert php["status"] == "eol"
    assert php["support_source"] == "distro"
    assert php["support_end"] == fleet.DISTRO_END["debian-11"]
    assert php["days_left"] == (_dt.date.fromisoformat(fleet.DISTRO_END["debian-11"]) - fleet.AS_OF).days
    # the two php components (fpm + cli) of one version are one finding with both packages
    assert php["packages"] == ["php7.4-fpm", "php7.4-cli"]
    assert php["units"] == ["php7.4-fpm.service"]
    # packaged components are evaluated with the host's distro, docroot apps without it
    assert ("php", "7.4.33-1+deb11u5", "debian-11", fleet.AS_OF) in engine.calls
    assert ("wordpress", "5.7.11", None, fleet.AS_OF) in engine.calls


def test_findings_follow_the_facts_not_a_table():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    for c in acme["ansible_facts"]["s4_software"]["components"]:
        if c["product"] == "php":
            c["version"], c["raw_version"], c["package"] = "8.4.11", "8.4.11-1", "php8.4-fpm"
    acme["ansible_facts"]["s4_software"]["sites"][0]["php"]["version"] = "8.4"
    php = _find(_report(hvs), "mvps-acme-01", "php")
    assert (php["version"], php["cycle"], php["status"]) == ("8.4.11", "8.4", "supported")
    assert php["affected_sites"] == [{"host": "mvps-acme-01", "site": "acme-blog", "client": "acme"}]


def test_responsible_party_follows_the_seed_split():
    r = _report()
    assert _find(r, "mvps-acme-01", "nginx")["responsible"] == "provider"
    assert _find(r, "mvps-acme-01", "mariadb")["responsible"] == "provider"
    wp = _find(r, "mvps-acme-01", "wordpress", "acme-blog")
    assert (wp["responsible"], wp["kind"], wp["clients"]) == ("client", "webapp", ["acme"])
    assert "T&M" in wp["responsible_note"]
    assert _find(r, "mvps-acme-01", "jquery", "acme-blog")["responsible"] == "client"
    # a component found inside a client's docroot belongs to that site and client
    jq = _find(r, "shared-01", "jquery", "globex-site")
    assert (jq["responsible"], jq["clients"], jq["scope"]) == ("client", ["globex"], "site")
    # a binary runtime outside any docroot is server-side software
    assert _find(r, "shared-01", "nodejs")["responsible"] == "provider"
    # roundcube installed by the provider as a distro package, on an internal host
    rc = _find(r, "internal-01", "roundcube", "webmail.smartt.example")
    assert rc["responsible"] == "provider"
    assert rc["install_source"] == "dpkg"


def test_packaged_app_on_a_managed_host_is_the_providers():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    facts = acme["ansible_facts"]["s4_software"]
    facts["packages"].append({"name": "wordpress", "version": "5.7.11+dfsg1-0+deb11u1", "arch": "all",
                              "source": "wordpress", "manager": "dpkg", "origin": "debian"})
    facts["sites"][0]["docroot"] = "/srv/www/acme-blog/public"
    facts["sites"][0]["apps"][0]["path"] = "/usr/share/wordpress"
    wp = _find(_report(hvs), "mvps-acme-01", "wordpress", "acme-blog")
    assert wp["responsible"] == "provider"
    assert wp["install_source"] == "dpkg"


def test_affected_sites_of_shared_components():
    r = _report()
    php = _find(r, "shared-01", "php")
    assert [a["site"] for a in php["affected_sites"]] == ["acme-shop", "globex-site"]  # initech-site has no PHP
    assert php["clients"] == ["acme", "globex"]
    maria = _find(r, "db-01", "mariadb")
    assert maria["affected_sites"] == [{"host": "shared-01", "site": "acme-shop", "client": "acme"}]
    pg = _find(r, "db-01", "postgresql")
    assert pg["affected_sites"] == [{"host": "shared-01", "site": "globex-site", "client": "globex"}]


def test_os_is_taken_from_facts_when_no_os_component():
    r = _report()
    deb = _find(r, "shared-01", "debian")
    assert (deb["kind"], deb["version"], deb["install_source"]) == ("os", "12.12", "os-release")


def test_out_of_scope_host_is_refused():
    hvs = fleet.hostvars(only_in_scope=False)
    with pytest.raises(ReportInputError, match=r"colo-01: service 'colocation' is not in scope"):
        _report(hvs)


def test_bad_host_input_lists_every_problem():
    with pytest.raises(ReportInputError) as exc:
        normalise_hosts([{"s4_service": "mvps"}, "x", {"inventory_hostname": "a", "s4_service": "mvps",
                                                        "s4_sites": "nope"}])
    text = str(exc.value)
    assert "hosts[0]: no inventory_hostname" in text
    assert "hosts[1]: not a mapping" in text
    assert "host a: s4_sites is not a list" in text


def test_missing_and_bad_facts_are_listed_as_not_gathered():
    hvs = fleet.hostvars()
    db = next(h for h in hvs if h["inventory_hostname"] == "db-01")
    db["ansible_facts"]["s4_software"]["schema"] = 2
    r = _report(hvs)
    ng = {n["host"]: n for n in r["not_gathered"]}
    assert set(ng) == {"mvps-initech-01", "db-01"}
    assert "no s4_software facts" in ng["mvps-initech-01"]["reason"]
    assert ng["mvps-initech-01"]["clients"] == ["initech"]
    assert "schema 2" in ng["db-01"]["reason"]
    assert not [f for f in r["findings"] if f["host"] in ng]
    assert r["summary"]["hosts_not_gathered"] == 2
    assert r["summary"]["hosts_gathered"] == r["summary"]["hosts_in_scope"] - 2


def test_status_window():
    assert judge_status("supported", 100, 180) == "eol-soon"
    assert judge_status("security-only", 180, 180) == "eol-soon"
    assert judge_status("supported", 181, 180) == "supported"
    assert judge_status("eol", -5, 180) == "eol"
    assert judge_status(None, None, 180) == "unknown"
    # php 8.2 upstream ends 2026-12-31 on shared-01 but debian-12 carries it to 2028: not soon
    assert _find(_report(), "shared-01", "php")["status"] == "supported"
    # a 900-day window makes it eol-soon
    assert _find(_report(eol_soon_days=900), "shared-01", "php")["status"] == "eol-soon"


def test_debt_points():
    assert debt_points("supported", 500, 2.0) == 0
    assert debt_points("eol", 0, 1.0) == 10
    assert debt_points("eol", -365, 1.0) == 20
    assert debt_points("eol", -5000, 1.0) == debt_points("eol", -1095, 1.0) == 40
    assert debt_points("unknown", None, 2.0, "high") == 12          # a known-vulnerable front-end library
    assert debt_points("eol", -5000, 1.0, "critical") == 40         # the higher of the two, not the sum
    assert debt_points("eol", -365, 2.0) == 40
    assert debt_points("eol-soon", 30, 1.0) == 4
    assert debt_points("security-only", 30, 1.25) == 1            # whole points, half up
    assert debt_points("security-only", 30, 2.0) == 2 and debt_points("eol", -10, 1.25) == 13
    assert all(isinstance(debt_points(s, d, e), int) for s in ("eol", "eol-soon", "security-only", "supported")
               for d in (-400, 0, 30) for e in (1.0, 1.25, 2.0))
    assert exposure_of("runtime", True) == 2.0
    assert exposure_of("database", True) == 1.25
    assert exposure_of("runtime", False) == 1.0


def test_as_of_makes_the_report_reproducible():
    a = json.dumps(_report(), sort_keys=True)
    b = json.dumps(_report(), sort_keys=True)
    assert a == b
    earlier = _report(as_of=_dt.date(2026, 1, 15))
    php = _find(earlier, "mvps-acme-01", "php")
    assert php["status"] == "supported" and php["as_of"] == "2026-01-15"
    with pytest.raises(ReportInputError, match="as_of must be a date"):
        _report(as_of="27/11/2026")


def test_finding_ids_are_unique_and_stable():
    r1, r2 = _report(), _report(as_of=_dt.date(2025, 1, 1))
    ids = [f["id"] for f in r1["findings"]]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(f["id"] for f in r2["findings"])


def test_unknown_products_are_reported_not_dropped():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["components"].append(
        {"product": "frobnicator", "version": "1.0", "kind": "appserver", "source": "binary", "path": "/opt/frob"})
    f = _find(_report(hvs), "mvps-acme-01", "frobnicator")
    assert f["status"] == "unknown" and "not in the catalog" in f["reason"]
    assert f["debt"] == 0


def test_real_engine_judges_the_fleet():
    """The committed lifecycle catalog through s4.lifecycle.Engine (no fake)."""
    r = build_report(copy.deepcopy(fleet.hostvars()), as_of=fleet.AS_OF)
    php = _find(r, "mvps-acme-01", "php")
    assert (php["status"], php["support_source"], php["cycle"]) == ("eol", "distro", "7.4")
    assert php["support_end"] == "2026-08-31"   # Debian 11 LTS end in the catalog
    assert php["recommended"] and php["recommended"]["product"] == "php"
    wp = _find(r, "mvps-acme-01", "wordpress", "acme-blog")
    assert wp["status"] == "eol" and wp["responsible"] == "client"


def _shared_01(hvs):
    return next(hv for hv in hvs if hv["inventory_hostname"] == "shared-01")["ansible_facts"]["s4_software"]


@pytest.mark.parametrize(("apache_as", "site_server"), [("apache-http-server", "httpd"), ("apache2", "apache-http-server"),
                                                       ("httpd", "Apache HTTP Server")])
def test_sites_behind_a_web_server_follow_the_one_resolver(apache_as, site_server):
    """Which sites a web server finding affects: each site's server as discovery names it (apache2 on Debian,
    httpd on RHEL) goes through the engine's resolver, not a map of the report's own."""
    hvs = copy.deepcopy(fleet.hostvars())
    facts = _shared_01(hvs)
    facts["components"].append({"product": apache_as, "version": "2.4.62", "raw_version": "2.4.62-1~deb12u2",
                                "kind": "webserver", "source": "dpkg", "package": "apache2", "path": None,
                                "evidence": "dpkg: apache2", "details": {}})
    facts["sites"][1]["server"] = "apache2"
    facts["sites"][2]["server"] = site_server
    r = build_report(hvs, as_of=fleet.AS_OF)        # the real engine
    apache = _find(r, "shared-01", "apache-http-server")
    assert [a["site"] for a in apache["affected_sites"]] == ["globex-site", "initech-site"]
    nginx = _find(r, "shared-01", "nginx")
    assert [a["site"] for a in nginx["affected_sites"]] == ["acme-shop"]


def test_web_server_sites_without_a_resolver_match_names_as_found():
    """An engine with only the evaluate contract (the fake): a site's server counts when named as the product."""
    hvs = copy.deepcopy(fleet.hostvars())
    _shared_01(hvs)["sites"][1]["server"] = "apache2"
    nginx = _find(_report(hvs), "shared-01", "nginx")
    assert [a["site"] for a in nginx["affected_sites"]] == ["acme-shop", "initech-site"]


@pytest.mark.parametrize("packages, responsible", [(["wordpress"], "provider"), (["wordpress-l10n"], "provider"),
                                                   (["nginx"], "client")])
def test_site_served_from_the_distro_package_dir(packages, responsible):
    """The lab's acme-blog is Debian's wordpress package served from /usr/share/wordpress."""
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["s4_sites"][0]["docroot"] = "/usr/share/wordpress"
    facts = acme["ansible_facts"]["s4_software"]
    facts["packages"] = [{"name": p, "version": "1", "manager": "dpkg"} for p in packages]
    facts["sites"][0]["docroot"] = "/usr/share/wordpress"
    facts["sites"][0]["apps"][0]["path"] = "/usr/share/wordpress"
    wp = _find(_report(hvs), "mvps-acme-01", "wordpress", "acme-blog")
    assert wp["responsible"] == responsible
    assert wp["install_source"] == ("dpkg" if responsible == "provider" else "docroot")


def test_the_same_release_shipped_twice_in_a_site_is_one_finding():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"].append(
        {"product": "jquery", "version": "1.12.4", "path": "/srv/www/acme-blog/vendor/jquery.js", "evidence": "npm"})
    jq = _find(_report(hvs), "mvps-acme-01", "jquery", "acme-blog")
    assert jq["paths"] == ["/srv/www/acme-blog/js/jquery.min.js", "/srv/www/acme-blog/vendor/jquery.js"]
    assert jq["evidence"] == "banner; npm"


def test_eol_app_without_a_long_lived_target_still_gets_the_best_one():
    """Real engine: Drupal 10.3 is EOL and no release is supported for the engine's minimum period; the finding
    still names the longest-lived supported release, and says its support is short."""
    r = build_report(fleet.hostvars(), as_of=fleet.AS_OF)
    d = _find(r, "shared-01", "drupal", "globex-site")
    assert d["status"] == "eol"
    rec = d["recommended"]
    assert rec and rec["product"] == "drupal" and rec["eol"] > fleet.AS_OF.isoformat()
    assert "shorter support than the usual minimum" in rec["reason"]
    # an engine without recommend(min_months=...) gets nothing invented
    from s4.report.findings import _short_target

    assert _short_target(fleet.FakeEngine(), "drupal", None, fleet.AS_OF, "10.3.6") is None
