"""Pure POC logic: profiles, plan, report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from s4.poc import plan as poc_plan
from s4.poc import profiles, report


@dataclass
class Rec:
    cycle: str


class Engine:
    def __init__(self, recs: dict[str, str]) -> None:
        self.recs = recs

    def recommend(self, product: str, distro: str, as_of: Any = None) -> Rec | None:
        return Rec(self.recs[product]) if product in self.recs else None


HOSTVARS: dict[str, dict[str, Any]] = {
    "mvps-acme-01": {
        "s4_service": "mvps", "s4_in_scope": True, "ansible_host": "10.89.40.11",
        "s4_sites": [{"name": "acme-blog", "client": "acme", "domain": "blog.acme.example",
                      "aliases": ["www.blog.acme.example"], "docroot": "/usr/share/wordpress", "app": "wordpress",
                      "db": {"engine": "mariadb", "name": "acme_wp", "server": "mvps-acme-01"}}],
    },
    "mvps-globex-01": {
        "s4_service": "mvps", "s4_in_scope": True, "ansible_host": "10.89.40.12",
        "s4_sites": [
            {"name": "globex-webmail", "client": "globex", "domain": "mail.globex.example", "aliases": [],
             "docroot": "/var/lib/roundcube", "app": "roundcube",
             "db": {"engine": "postgresql", "name": "globex_roundcube", "server": "mvps-globex-01"}},
            {"name": "globex-www", "client": "globex", "domain": "www.globex.example", "aliases": ["globex.example"],
             "docroot": "/srv/www/globex-www", "app": "php",
             "db": {"engine": "postgresql", "name": "globex_crm", "server": "mvps-globex-01"}},
        ],
    },
    "colo-01": {"s4_service": "colocation", "s4_in_scope": False, "ansible_host": "10.89.40.16", "s4_sites": []},
    "localhost": {},
}
IN_SCOPE = ["mvps-acme-01", "mvps-globex-01"]


def test_shipped_profiles_load() -> None:
    assert {"debian12", "debian13"} <= set(profiles.available())
    p13 = profiles.load("debian13")
    assert (p13.template, p13.components) == (9000, {"php": "8.4", "mariadb": "11.8", "postgresql": "17"})
    p12 = profiles.load("debian12")
    assert (p12.template, p12.components["mariadb"], p12.components["postgresql"]) == (9001, "10.11", "15")


def test_unknown_profile_and_invalid_profile_are_refused(tmp_path) -> None:
    with pytest.raises(profiles.ProfileError, match="unknown POC profile 'debian99'.*debian13"):
        profiles.load("debian99")
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\ndistro: debian-13\nsuite: trixie\ntemplate: 9000\nprovides: {php: ['8.4']}\n"
                   "components: {php: '8.3'}\nlegitimate_differences: [{path: relative, reason: ''}]\n")
    with pytest.raises(profiles.ProfileError) as err:
        profiles.load(str(bad))
    assert "components.php: 8.3 is not in provides.php" in str(err.value)
    assert "legitimate_differences[0]" in str(err.value)


def test_versions_come_from_override_then_lifecycle_then_profile() -> None:
    p = profiles.load("debian13")
    v = p.resolve_versions({"postgresql": "17"}, engine=Engine({"php": "8.4", "mariadb": "12.0"}))
    assert v["postgresql"]["origin"] == "override"
    assert v["php"] == {"version": "8.4", "origin": "lifecycle", "reason": v["php"]["reason"]}
    assert v["mariadb"]["origin"] == "profile" and "12.0" in v["mariadb"]["reason"]
    assert p.resolve_versions(engine=None)["php"]["origin"] == "profile"


def test_version_the_template_cannot_provide_is_refused() -> None:
    with pytest.raises(profiles.ProfileError, match=r"php 8\.1 is not provided by template 9000.*available: 8\.4"):
        profiles.load("debian13").resolve_versions({"php": "8.1"})
    with pytest.raises(profiles.ProfileError, match="unknown component"):
        profiles.load("debian13").resolve_versions({"redis": "7"})


def test_legitimate_differences_match_by_glob_and_change() -> None:
    p = profiles.load("debian13")
    assert p.legitimate("/etc/wordpress/config-acme-blog.poc.smartt.example.php", "added") is not None
    assert p.legitimate("/etc/wordpress/config-blog.acme.example.php", "modified") is None
    assert p.legitimate("/var/lib/wordpress/wp-content/uploads/a.jpg", "modified") is None
    assert p.legitimate("@db-credentials", "modified") is not None


def _plan(**kw: Any) -> dict[str, Any]:
    prof = profiles.load("debian13")
    args: dict[str, Any] = {"domain": "smartt.example", "profile": prof.to_dict(), "versions": prof.resolve_versions()}
    args.update(kw)
    source = args.pop("source", "mvps-acme-01")
    return poc_plan.build(source, HOSTVARS, IN_SCOPE, **args)


def test_site_plan_of_packaged_wordpress() -> None:
    pl = _plan(site="acme-blog")
    assert pl["name"] == "poc-acme-acme-blog-93572f25" and pl["scope"] == "site"
    s = pl["sites"][0]
    assert s["preview"] == "acme-blog.poc.smartt.example"
    # only the site's own config and the content directory (issue #13 finding 6), not all of /etc/wordpress
    assert pl["data_paths"] == ["/etc/wordpress/config-blog.acme.example.php", "/var/lib/wordpress/wp-content"]
    assert s["alias_configs"] == ["/etc/wordpress/config-www.blog.acme.example.php"]
    assert {n["path"] for n in pl["not_copied"]} == {"/etc/wordpress", "/var/lib/wordpress"}
    assert s["config"] == "/etc/wordpress/config-blog.acme.example.php"
    assert pl["databases"] == [{"site": "acme-blog", "engine": "mariadb", "name": "acme_wp", "server": "mvps-acme-01",
                                "server_address": "10.89.40.11", "family": "mariadb"}]
    assert poc_plan.hosts_lines(pl, "10.89.40.100") == [
        "10.89.40.100 acme-blog.poc.smartt.example blog.acme.example www.blog.acme.example"]


def test_whole_host_plan_covers_every_site() -> None:
    pl = _plan(source="mvps-globex-01")
    assert pl["name"] == "poc-globex-mvps-globex-01-1b6568b8" and pl["engines"] == ["postgresql"]
    assert [s["name"] for s in pl["sites"]] == ["globex-webmail", "globex-www"]
    assert pl["packages"] == ["roundcube-core", "roundcube-pgsql"]
    assert "/srv/www/globex-www" in pl["data_paths"]


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"source": "nope"}, "unknown source 'nope': not a host of the CMDB"),
        ({"source": "colo-01"}, "out of scope"),
        ({"source": ""}, "no source given"),
        ({"site": "missing"}, "unknown site 'missing' on mvps-acme-01 \\(its sites: acme-blog\\)"),
    ],
)
def test_bad_input_is_refused_with_the_reason(kw: dict[str, Any], msg: str) -> None:
    with pytest.raises(poc_plan.PlanError, match=msg):
        _plan(**kw)


def test_names_are_dns_labels() -> None:
    n = poc_plan.poc_name("acme", "A_Very.Long site name " * 5)
    assert len(n) <= 63 and n == n.lower() and " " not in n and "_" not in n and not n.endswith("-")


FACTS_BEFORE = {"distro": "debian-11", "os": {"id": "debian", "version_full": "11.11"},
                "components": [{"product": "php", "version": "7.4.33"}, {"product": "mariadb", "version": "10.5.26"}],
                "sites": [{"name": "acme-blog", "apps": [{"product": "wordpress", "version": "5.7.11"}]}]}
FACTS_AFTER = {"distro": "debian-13", "os": {"id": "debian", "version_full": "13.2"},
               "components": [{"product": "php", "version": "8.4.11"}, {"product": "mariadb", "version": "11.8.3"}]}


class Compat:
    def php_range(self, product: str, version: str) -> Any:
        class R:
            php_min, php_max = "5.6", "8.0"

            def allows(self, php: str) -> bool:
                return php in ("7.4", "8.0")

        return R()

    def first_release_supporting(self, product: str, php: str, at_least: str | None = None) -> str:
        return "6.7"


def test_report_json_and_html() -> None:
    pl = _plan(site="acme-blog")
    rep = report.build(
        pl, vm={"vmid": 100, "address": "10.89.40.100"}, before=FACTS_BEFORE, after=FACTS_AFTER,
        integrity={"passed": False, "checks": [{"name": "files", "source": "a", "target": "b", "passed": False}],
                   "mismatches": ["/etc/x modified"], "legitimate": []},
        interop=[{"check": "http", "site": "acme-blog", "passed": True, "detail": "<200>"}],
        access={"hosts_lines": ["10.89.40.100 x"], "credentials_file": "/c", "db_password": "s3cret"},
        commands={"teardown": "ansible-playbook playbooks/poc_teardown.yml"}, compat=Compat(),
    )
    assert rep["status"] == "failed"
    assert rep["access"]["db_password"] == "<redacted>"
    assert [r["product"] for r in rep["versions"]] == ["php", "mariadb", "debian"]
    assert rep["issues"][0]["action"] == "upgrade wordpress to 6.7 or later before go-live"
    text = report.render_json(rep)
    assert json.loads(text) == json.loads(report.render_json(rep)) and "s3cret" not in text
    html = report.render_html(rep)
    assert "&lt;200&gt;" in html and "MISMATCH" in html and "s3cret" not in html
    assert report.render_html(rep) == html  # deterministic
    # what the plan found but did not copy is listed with the reason (issue #13 finding 6)
    assert {n["path"] for n in rep["not_copied"]} == {"/etc/wordpress", "/var/lib/wordpress"}
    assert "Found on the source, not copied" in html and "<code>/etc/wordpress</code>" in html


def test_db_account_parsers() -> None:
    rows = ("'acme_wp'@'localhost'\tALTER,ALTER ROUTINE,CREATE,CREATE ROUTINE,CREATE TEMPORARY TABLES,CREATE VIEW,"
            "DELETE,DELETE HISTORY,DROP,EVENT,EXECUTE,INDEX,INSERT,LOCK TABLES,REFERENCES,SELECT,SHOW VIEW,TRIGGER,"
            "UPDATE\n'reader'@'%'\tSELECT\n'root'@'localhost'\tSELECT\n")
    assert poc_plan.mariadb_accounts(rows, "acme_wp") == [
        {"name": "acme_wp", "host": "localhost", "privileges": [{"db": "acme_wp", "privs": "ALL"}]},
        {"name": "reader", "host": "%", "privileges": [{"db": "acme_wp", "privs": "SELECT"}]},
    ]
    pg = poc_plan.postgres_roles("globex_crm|t|t\nreport|f|f\npostgres|f|t\n")
    assert pg == {"owner": "globex_crm", "roles": [{"name": "globex_crm", "login": True},
                                                   {"name": "report", "login": False}]}


def test_packaged_app_layout_matches_below_its_root() -> None:
    lay = poc_plan.site_layout({"name": "m", "domain": "mail.x", "docroot": "/var/lib/roundcube/public_html",
                                "app": "roundcube", "db": {"engine": "postgresql"}, "_domain": "x"})
    assert lay["packaged"] and lay["packages"] == ["roundcube-core", "roundcube-pgsql"]
    assert lay["data_paths"] == ["/etc/roundcube"] and lay["vhost_docroot"] == "/var/lib/roundcube/public_html"
    own = poc_plan.site_layout({"name": "w", "domain": "w.x", "docroot": "/srv/www/w", "app": "php", "_domain": "x"})
    assert not own["packaged"] and own["data_paths"] == ["/srv/www/w"]


def test_generic_credential_pattern_rewrites_only_the_users_password() -> None:
    import re

    pat = poc_plan.GENERIC_CREDENTIAL_PATTERN.replace("{user}", re.escape("globex_crm"))
    src = "$db = new PDO('pgsql:host=127.0.0.1;dbname=globex_crm', 'globex_crm', 'lab-old');\n$x = f('other', 'keep');"
    out = re.sub(pat, r"\g<1>NEW\g<2>", src)
    assert "'globex_crm', 'NEW'" in out and "'other', 'keep'" in out


def test_interop_judgement() -> None:
    from s4.poc import stack

    pl = _plan(source="mvps-globex-01")
    http = [{"item": ["globex-webmail", "mail.globex.example"], "status": 200, "content": '<input name="_user">'},
            {"item": ["globex-www", "www.globex.example"], "status": 500, "content": "Uncaught PDOException"}]
    php = [{"item": ["globex-webmail", "mail.globex.example"], "status": 200, "content": "8.4.28\n"},
           {"item": ["globex-www", "www.globex.example"], "status": 503, "content": ""}]
    services = {"apache2.service": {"state": "running", "status": "enabled"},
                "php8.4-fpm.service": {"state": "running", "status": "enabled"},
                "postgresql.service": {"state": "stopped", "status": "enabled"},
                "postgresql@17-main.service": {"state": "running", "status": "active"}}
    res = {r["check"]: r for r in stack.interop(pl, http, php, services, "8.4", "apache2")}
    assert res["http mail.globex.example"]["passed"] and res["served PHP version (mail.globex.example)"]["passed"]
    assert not res["http www.globex.example"]["passed"]
    assert "PDOException" in res["app reaches its database (www.globex.example)"]["detail"]
    assert not res["served PHP version (www.globex.example)"]["passed"]
    assert res["service postgresql.service"]["passed"] and res["service apache2.service"]["passed"]


def test_packaged_app_issue_names_the_version_the_poc_runs() -> None:
    pl = _plan(site="acme-blog")
    after = dict(FACTS_AFTER, sites=[{"name": "acme-blog", "apps": [{"product": "wordpress", "version": "6.8.3"}]}])
    issues = report.client_issues(pl, FACTS_BEFORE, compat=Compat(), after=after)
    assert issues[0]["severity"] == "check" and "wordpress 6.8.3" in issues[0]["message"]
    own = report.client_issues(pl, FACTS_BEFORE, compat=Compat(), after=FACTS_AFTER)
    assert own[0]["severity"] == "action"
