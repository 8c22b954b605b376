"""Impact lists, interop issues, licences, who must act, uplift plans, debt scores and their trend."""

from __future__ import annotations

import copy
import datetime as _dt

import report_fleet as fleet

from s4.history import History
from s4.report import build_report
from s4.report.compat import Compat

# PHP ranges per application cycle, as the lifecycle catalog states them (shape of Compat's table)
COMPAT = Compat({
    "wordpress": [("5.7", "5.6 - 8.0"), ("5.9", "5.6 - 8.1"), ("6.1", "5.6 - 8.2"), ("6.4", "7.0 - 8.3"),
                  ("6.7", "7.2 - 8.4")],
    "drupal": [("10.3", "8.1 - 8.3"), ("11.1", "8.3 - 8.4")],
})


def _report(hvs=None, **kw):
    kw.setdefault("engine", fleet.FakeEngine())
    kw.setdefault("as_of", fleet.AS_OF)
    kw.setdefault("compat", COMPAT)
    return build_report(hvs if hvs is not None else fleet.hostvars(), **kw)


def _issues(r, kind):
    return [i for i in r["interop"] if i["type"] == kind]


def test_impact_lists_group_by_product_and_cycle():
    r = _report()
    php = {g["cycle"]: g for g in r["impact"] if g["product"] == "php"}
    assert set(php) == {"7.4", "8.2", "8.4"}
    assert php["8.2"]["hosts"] == ["shared-01"]
    assert [s["site"] for s in php["8.2"]["sites"]] == ["acme-shop", "globex-site"]
    assert php["8.2"]["clients"] == ["acme", "globex"]
    assert php["8.2"]["services"] == ["shared_hosting"]
    assert php["8.2"]["units"] == ["php8.2-fpm.service"]
    assert php["7.4"]["status"] == "eol"
    # impact rows are ordered worst first
    order = {"eol": 0, "eol-soon": 1, "security-only": 2, "unknown": 3, "supported": 4}
    ranks = [order[g["status"]] for g in r["impact"]]
    assert ranks == sorted(ranks)


def test_interop_shared_db_server():
    r = _report()
    db = {i["product"]: i for i in _issues(r, "shared-db-server")}
    assert set(db) == {"mariadb", "postgresql"}
    assert db["mariadb"]["host"] == "db-01"
    assert db["mariadb"]["hosts"] == ["db-01", "shared-01"]
    assert db["mariadb"]["sites"] == [{"host": "shared-01", "site": "acme-shop", "client": "acme"}]
    # mvps-acme-01's own DB serves only its own site of one client: not an interop issue
    assert not [i for i in _issues(r, "shared-db-server") if i["host"] == "mvps-acme-01"]


def test_interop_shared_php_runtime():
    r = _report()
    (issue,) = _issues(r, "shared-php-runtime")
    assert (issue["host"], issue["cycle"]) == ("shared-01", "8.2")
    assert issue["clients"] == ["acme", "globex"]


def test_interop_app_blocks_the_recommended_php():
    r = _report()
    (issue,) = _issues(r, "app-blocks-php-uplift")
    assert (issue["host"], issue["product"]) == ("mvps-acme-01", "wordpress")
    assert issue["php"]["current"] == "7.4" and issue["php"]["target"] == fleet.RECOMMEND["php"][0]
    assert issue["php"]["app_needs"] == "6.7"
    assert issue["severity"] == "critical"
    # once WordPress is new enough nothing blocks the move
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["sites"][0]["apps"][0]["version"] = "6.8.1"
    assert not _issues(_report(hvs), "app-blocks-php-uplift")


def test_interop_db_on_an_out_of_scope_host_does_not_name_it():
    hvs = fleet.hostvars()
    shared = next(h for h in hvs if h["inventory_hostname"] == "shared-01")
    shared["s4_sites"][2]["db"] = {"engine": "mysql", "name": "initech", "server": "colo-01"}
    (issue,) = _issues(_report(hvs), "db-server-out-of-scope")
    assert issue["sites"][0]["site"] == "initech-site"
    assert "colo-01" not in str(issue)


def test_licences_within_the_window():
    r = _report()
    lic = {x["product"]: x for x in r["licences"]}
    assert set(lic) == {"wp-premium-plugin", "db-support"}   # backup-agent expires in 2029
    assert lic["db-support"]["status"] == "expired" and lic["db-support"]["days_left"] < 0
    assert lic["wp-premium-plugin"]["status"] == "expiring"
    assert lic["wp-premium-plugin"]["days_left"] == (_dt.date(2027, 2, 28) - fleet.AS_OF).days
    assert all(x["responsible"] == "provider" for x in r["licences"])
    assert {x["product"] for x in _report(eol_soon_days=30)["licences"]} == {"db-support"}


def test_who_must_act():
    r = _report()
    prov = {(f["host"], f["product"]) for f in r["responsible"]["provider"]}
    cli = {(f["host"], f["site"], f["product"]) for f in r["responsible"]["client"]}
    assert ("mvps-acme-01", "php") in prov and ("shared-01", "nodejs") in prov
    assert ("mvps-acme-01", "acme-blog", "wordpress") in cli
    assert all(f["status"] in ("eol", "eol-soon", "security-only") for fs in r["responsible"].values() for f in fs)
    assert r["summary"]["by_responsible"] == {k: len(v) for k, v in r["responsible"].items()}


def test_site_plan_upgrades_the_app_before_the_php_move():
    r = _report()
    plan = r["plans"]["sites"]["mvps-acme-01/acme-blog"]
    steps = {s["id"]: s for s in plan["steps"]}
    wp = next(s for s in plan["steps"] if s["product"] == "wordpress")
    move = next(s for s in plan["steps"] if s["product"] == "php")
    assert "6.7" in wp["action"] and wp["responsible"] == "client"
    assert move["responsible"] == "provider"
    assert wp["id"] in move["depends_on"] and wp["order"] < move["order"]
    last = plan["steps"][-1]
    assert set(last["depends_on"]) == set(steps) - {last["id"]}
    # the host plan's PHP step waits for the site's move
    host = r["plans"]["hosts"]["mvps-acme-01"]
    php_step = next(s for s in host["steps"] if s["product"] == "php")
    assert move["id"] in php_step["depends_on"]
    # the OS move comes before the servers that come from the new release
    os_step = next(s for s in host["steps"] if s["product"] == "debian")
    assert all(os_step["id"] in s["depends_on"] for s in host["steps"] if s["product"] in ("nginx", "mariadb", "php"))
    # every dependency points at an existing step
    all_ids = {s["id"] for p in [*r["plans"]["hosts"].values(), *r["plans"]["sites"].values()] for s in p["steps"]}
    assert all(d in all_ids for p in [*r["plans"]["hosts"].values(), *r["plans"]["sites"].values()]
               for s in p["steps"] for d in s["depends_on"])


def test_postgresql_major_upgrade_step_says_dump_restore():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    acme["ansible_facts"]["s4_software"]["components"].append(
        {"product": "postgresql", "version": "13.16", "raw_version": "13.16-0+deb11u1", "kind": "database",
         "source": "dpkg", "package": "postgresql-13"})
    fleet.UPSTREAM[("postgresql", "13")] = "2025-11-13"
    try:
        r = _report(hvs)
    finally:
        del fleet.UPSTREAM[("postgresql", "13")]
    step = next(s for s in r["plans"]["hosts"]["mvps-acme-01"]["steps"] if s["product"] == "postgresql")
    assert "dump/restore" in step["notes"]


def test_debt_scores_sum_the_findings():
    r = _report()
    for host, d in r["debt"]["hosts"].items():
        assert d["score"] == round(sum(f["debt"] for f in r["findings"] if f["host"] == host), 2)
    for client, d in r["debt"]["clients"].items():
        assert d["score"] == round(sum(f["debt"] for f in r["findings"] if client in f["clients"]), 2)
    assert r["debt"]["hosts"]["mvps-acme-01"]["score"] > r["debt"]["hosts"]["db-01"]["score"]
    assert "mvps-initech-01" not in r["debt"]["hosts"]   # not gathered: no score


def test_debt_trend_from_the_history_db(tmp_path):
    db = tmp_path / "history.sqlite"
    old = copy.deepcopy(fleet.FACTS)
    new = copy.deepcopy(fleet.FACTS)
    # between the runs mvps-acme-01's WordPress and jQuery were upgraded
    site = new["mvps-acme-01"]["sites"][0]
    site["apps"][0]["version"] = "6.8.1"
    site["libraries"][0]["version"] = "3.7.1"
    with History(db) as hist:
        for started, facts in (("2026-06-01T10:00:00Z", old), ("2026-11-01T10:00:00Z", new),
                               ("2027-03-01T10:00:00Z", new)):      # after the as-of date: ignored
            hist.record_run({h: {"status": "ok", "facts": f} for h, f in facts.items()}, started_at=started,
                            finished_at=started)
    r = _report(history_db=db)
    trend = r["debt"]["trend"]
    assert [p["date"] for p in trend["runs"]] == ["2026-06-01", "2026-11-01"]

    def score_of(facts, as_of, host=None, client=None):
        hvs = fleet.hostvars(with_facts=False)
        for hv in hvs:
            if hv["inventory_hostname"] in facts:
                hv["ansible_facts"] = {"s4_software": copy.deepcopy(facts[hv["inventory_hostname"]])}
        d = _report(hvs, as_of=as_of)["debt"]
        return d["hosts"][host]["score"] if host else d["clients"][client]["score"]

    # each run is its own facts judged as of its own date
    june, nov = _dt.date(2026, 6, 1), _dt.date(2026, 11, 1)
    assert [p["score"] for p in trend["hosts"]["mvps-acme-01"]] == [score_of(old, june, "mvps-acme-01"),
                                                                   score_of(new, nov, "mvps-acme-01")]
    assert [p["score"] for p in trend["clients"]["acme"]] == [score_of(old, june, client="acme"),
                                                             score_of(new, nov, client="acme")]
    # the upgrade shows: November's debt is below what the June facts would have carried in November
    assert trend["hosts"]["mvps-acme-01"][1]["score"] < score_of(old, nov, "mvps-acme-01")
    # the host that did not change only ages
    assert trend["hosts"]["shared-01"][1]["score"] >= trend["hosts"]["shared-01"][0]["score"]
    # a host without facts in the history has no series
    assert "mvps-initech-01" not in trend["hosts"]
    # an earlier as-of date cuts the series
    r_june = _report(history_db=db, as_of=_dt.date(2026, 6, 30))
    assert [p["date"] for p in r_june["debt"]["trend"]["runs"]] == ["2026-06-01"]
    # the history limit keeps the newest runs
    r_last = _report(history_db=db, history_limit=1)
    assert [p["date"] for p in r_last["debt"]["trend"]["runs"]] == ["2026-11-01"]


def test_trend_without_history_db(tmp_path):
    r = _report(history_db=tmp_path / "missing.sqlite")
    assert r["debt"]["trend"]["runs"] == []
    assert "no gather history" in r["debt"]["trend"]["note"]


def test_timeline_holds_support_ends_from_a_year_ago_on():
    r = _report()
    dates = [e["date"] for e in r["timeline"]]
    assert dates == sorted(dates)
    assert all(_dt.date.fromisoformat(d) >= fleet.AS_OF - _dt.timedelta(days=365) for d in dates)
    ev = {(e["product"], e["cycle"]): e for e in r["timeline"]}
    assert ev[("php", "7.4")]["hosts"] == ["mvps-acme-01"]
    assert ev[("php", "7.4")]["days_left"] < 0
    assert ("jquery", "1.12") not in ev      # 2016: long past, not on the timeline


def test_real_engine_and_catalog_compat_agree_on_the_blocking_app():
    """With s4.lifecycle's engine and its PHP compat data: the recommended PHP for acme-blog's host is outside
    WordPress 5.7's range, and the release the plan asks for does support it."""
    from s4.lifecycle import Engine

    engine = Engine.load_default()
    r = build_report(fleet.hostvars(), as_of=fleet.AS_OF)          # default engine and Compat.from_engine
    (issue,) = [i for i in r["interop"] if i["type"] == "app-blocks-php-uplift" and i["host"] == "mvps-acme-01"]
    target, need = issue["php"]["target"], issue["php"]["app_needs"]
    compat = Compat.from_engine(engine)
    assert not compat.php_range("wordpress", "5.7.11").allows(target)
    assert need is not None and compat.php_range("wordpress", need).allows(target)
    plan = r["plans"]["sites"]["mvps-acme-01/acme-blog"]["steps"]
    assert f"to {need} or later" in plan[0]["action"]


def test_many_copies_of_a_library_are_one_plan_step():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    libs = acme["ansible_facts"]["s4_software"]["sites"][0]["libraries"]
    for v in ("1.12.0", "1.12.2", "1.12.1"):
        libs.append({"product": "jquery", "version": v, "path": f"/srv/www/acme-blog/old/jquery-{v}.js",
                     "evidence": "banner"})
    r = _report(hvs)
    assert len([f for f in r["findings"] if f["product"] == "jquery" and f["site"] == "acme-blog"]) == 4
    steps = [s for s in r["plans"]["sites"]["mvps-acme-01/acme-blog"]["steps"] if s["product"] == "jquery"]
    assert len(steps) == 1
    assert steps[0]["from"] == "1.12.0 ... 1.12.4 (4 copies)"
    assert "jquery-1.12.2.js" in steps[0]["notes"]


def test_a_site_with_only_php_still_gets_its_move_planned():
    hvs = fleet.hostvars()
    acme = next(h for h in hvs if h["inventory_hostname"] == "mvps-acme-01")
    site = acme["ansible_facts"]["s4_software"]["sites"][0]
    site["apps"], site["libraries"] = [], []
    r = _report(hvs)
    plan = r["plans"]["sites"]["mvps-acme-01/acme-blog"]
    assert plan["client"] == "acme"
    move = next(s for s in plan["steps"] if s["product"] == "php")
    assert move["depends_on"] == []
    host_php = next(s for s in r["plans"]["hosts"]["mvps-acme-01"]["steps"] if s["product"] == "php")
    assert move["id"] in host_php["depends_on"]


def test_bad_licence_date_is_a_clear_input_error():
    import pytest

    from s4.report import ReportInputError

    hvs = fleet.hostvars()
    hvs[0]["s4_licences"] = [{"product": "x", "kind": "licence", "expires": "next year"}]
    with pytest.raises(ReportInputError, match=r"licence 'x': expires: not a date"):
        _report(hvs)


def test_corrupt_history_db_gives_a_note_not_a_crash(tmp_path):
    db = tmp_path / "history.sqlite"
    db.write_bytes(b"this is not sqlite" * 100)
    r = _report(history_db=db)
    assert r["debt"]["trend"]["runs"] == []
    assert "history database" in r["debt"]["trend"]["note"]
