"""Go-live switch plan and proxy vhosts (s4/poc/golive.py)."""

from __future__ import annotations

from typing import Any

import pytest

from s4.poc import golive

PLAN: dict[str, Any] = {
    "source": "mvps-acme-01",
    "source_address": "10.89.40.11",
    "sites": [{"name": "acme-blog", "domain": "blog.acme.example", "aliases": ["www.blog.acme.example"]}],
}
FACTS: dict[str, Any] = {
    "sites": [
        {"name": "acme-blog", "server": "nginx", "config": "/etc/nginx/sites-enabled/acme-blog"},
        {"name": "acme-shop", "server": "nginx", "config": "/etc/nginx/sites-enabled/acme-shop"},
    ]
}


def test_plan_moves_the_enabled_entry_and_adds_one_proxy_vhost_per_site() -> None:
    p = golive.switch_plan(PLAN, FACTS, "poc-acme-acme-blog", "10.89.40.100")
    [site] = p["sites"]
    assert site["enabled"] == "/etc/nginx/sites-enabled/acme-blog"
    assert site["stored"] == "/var/lib/s4-golive/poc-acme-acme-blog/disabled/nginx/acme-blog"
    assert site["conf"] == "/etc/nginx/sites-available/s4-golive-acme-blog"
    assert site["link"] == "/etc/nginx/sites-enabled/s4-golive-acme-blog"
    assert site["names"] == ["blog.acme.example", "www.blog.acme.example"]
    assert p["moves"] == [{"from": site["enabled"], "to": site["stored"]}]
    assert p["servers"] == [{"name": "nginx", "service": "nginx", "configtest": ["nginx", "-t", "-q"], "modules": []}]
    assert p["state_file"] == "/var/lib/s4-golive/poc-acme-acme-blog/state.json"


def test_apache_sites_sharing_a_file_are_moved_once_and_need_the_proxy_modules() -> None:
    plan = {**PLAN, "sites": [{"name": "a", "domain": "a.example", "aliases": []},
                              {"name": "b", "domain": "b.example", "aliases": []}]}
    facts = {"sites": [{"name": n, "server": "apache2", "config": "/etc/apache2/sites-enabled/ab.conf"} for n in "ab"]}
    p = golive.switch_plan(plan, facts, "poc-x-host", "10.89.40.101")
    assert len(p["moves"]) == 1 and p["sites"][0]["stored"] == p["sites"][1]["stored"]
    assert [s["link"] for s in p["sites"]] == ["/etc/apache2/sites-enabled/s4-golive-a.conf",
                                              "/etc/apache2/sites-enabled/s4-golive-b.conf"]
    assert p["servers"][0]["modules"] == ["proxy", "proxy_http", "headers"]


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"sites": []}, "no discovered sites"),
        ({"sites": [{"name": "other", "server": "nginx", "config": "/etc/nginx/sites-enabled/x"}]},
         "its vhost was not found"),
        ({"sites": [{"name": "acme-blog", "server": "nginx", "config": "/etc/nginx/nginx.conf"}]},
         "not in a per-site file"),
        ({"sites": [{"name": "acme-blog", "server": "nginx", "config": "/etc/nginx/sites-enabled/all"},
                    {"name": "acme-shop", "server": "nginx", "config": "/etc/nginx/sites-enabled/all"}]},
         "also serves acme-shop"),
        ({"sites": [{"name": "acme-blog", "server": "lighttpd", "config": "/etc/lighttpd/x"}]}, "lighttpd"),
    ],
)
def test_refuses_what_it_cannot_switch_without_touching_other_sites(facts: dict[str, Any], message: str) -> None:
    with pytest.raises(golive.GoliveError, match=message):
        golive.switch_plan(PLAN, facts, "poc-acme-acme-blog", "10.89.40.100")


def test_refuses_bad_names_and_addresses() -> None:
    with pytest.raises(golive.GoliveError, match="not a POC name"):
        golive.switch_plan(PLAN, FACTS, "acme; rm -rf /", "10.89.40.100")
    with pytest.raises(golive.GoliveError, match="not an IPv4 address"):
        golive.switch_plan(PLAN, FACTS, "poc-acme-acme-blog", "10.89.40.100; x")
    bad = {**PLAN, "sites": [{"name": "acme-blog", "domain": "blog.acme.example;", "aliases": []}]}
    with pytest.raises(golive.GoliveError, match="not a host name"):
        golive.switch_plan(bad, FACTS, "poc-acme-acme-blog", "10.89.40.100")


NGINX_SITE = """
server {
    listen 80;
    listen [::]:80;  # v6
    # listen 8080;
    server_name blog.acme.example www.blog.acme.example;
    root /usr/share/wordpress;
    location ~ \\.php$ { fastcgi_pass unix:/run/php/php7.4-fpm.sock; }
}
server {
    listen 443 ssl;
    ssl_certificate /etc/ssl/acme.pem;
    ssl_certificate_key /etc/ssl/private/acme.key;
    server_name blog.acme.example;
}
"""


def test_nginx_proxy_keeps_listen_and_tls_lines_and_preserves_the_host() -> None:
    site = golive.switch_plan(PLAN, FACTS, "poc-acme-acme-blog", "10.89.40.100")["sites"][0]
    conf = golive.proxy_conf(site, NGINX_SITE, "poc-acme-acme-blog", "10.89.40.100")
    assert "    listen 80;\n    listen [::]:80;\n    listen 443 ssl;\n" in conf
    assert "8080" not in conf and "fastcgi" not in conf and "root " not in conf
    assert "ssl_certificate /etc/ssl/acme.pem;" in conf and "ssl_certificate_key /etc/ssl/private/acme.key;" in conf
    assert "server_name blog.acme.example www.blog.acme.example;" in conf
    assert "proxy_pass http://10.89.40.100;" in conf and "proxy_set_header Host $host;" in conf
    assert conf.count("{") == conf.count("}")


def test_nginx_proxy_without_listen_lines_listens_on_80() -> None:
    site = golive.switch_plan(PLAN, FACTS, "poc-acme-acme-blog", "10.89.40.100")["sites"][0]
    assert "    listen 80;\n" in golive.proxy_conf(site, "server { server_name x; }", "poc-a-b", "10.89.40.100")


def test_apache_proxy_one_virtualhost_per_original() -> None:
    site = {"name": "globex-www", "server": "apache2", "names": ["www.globex.example", "globex.example"]}
    original = """<VirtualHost *:80>
  ServerName www.globex.example
  DocumentRoot /srv/www/globex-www
</VirtualHost>
<VirtualHost *:443>
  SSLEngine on
  SSLCertificateFile /etc/ssl/g.pem
  # SSLCertificateChainFile /old.pem
</VirtualHost>
"""
    conf = golive.proxy_conf(site, original, "poc-globex-mvps-globex-01", "10.89.40.101")
    assert conf.count("<VirtualHost") == 2 and "<VirtualHost *:80>" in conf and "<VirtualHost *:443>" in conf
    assert "SSLEngine on" in conf and "SSLCertificateFile /etc/ssl/g.pem" in conf and "old.pem" not in conf
    assert "ServerAlias globex.example" in conf and "ProxyPreserveHost On" in conf
    assert "ProxyPass / http://10.89.40.101/" in conf and "DocumentRoot" not in conf


@pytest.mark.parametrize(
    ("status", "body", "php", "expected"),
    [(200, "8.4.16\n", None, True), (200, "8.4.16\n", "8.4", True), (200, "8.4.16", "8.2", False),
     (404, "8.4.16", None, False), (200, "<html>Not found</html>", None, False), (200, "", None, False)],
)
def test_served_by_poc(status: int, body: str, php: str | None, expected: bool) -> None:
    assert golive.served_by_poc(status, body, php) is expected


def test_drift_lists_databases_changed_since_the_copy() -> None:
    assert golive.drift(["a", "b", "c"], ["1", "2", None], ["1", "3", "4"]) == ["b", "c"]
    assert golive.drift([], [], []) == []
    with pytest.raises(golive.GoliveError):
        golive.drift(["a"], [], ["1"])


def test_judge_splits_names_by_who_answered() -> None:
    got = golive.judge(["a", "b", "c"], [(200, "8.4.1\n"), (404, "<html>"), (200, "8.4.1")], [200, 302, 502])
    assert got == {"poc": ["a", "c"], "source": ["b"], "front_failed": ["c"]}
    with pytest.raises(golive.GoliveError):
        golive.judge(["a"], [], [200])
