"""Observable state of a trixie host after s4_mariadb + s4_webstack converged the Acme site."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "molecule" / "resources" / "tests"))
from s4_molecule_helpers import http_get, parse_kv  # noqa: E402

PHP = "8.4"  # trixie's PHP, what the role installs when s4_webstack_php_version is empty
SOCKET = f"/run/php/php{PHP}-fpm-acme.sock"


@pytest.fixture
def server(host):
    """The web server this instance was converged with (molecule host_vars s4_molecule_server)."""
    return "apache2" if host.backend.get_hostname().endswith("-apache2") else "nginx"


@pytest.fixture
def other_server(server):
    return "nginx" if server == "apache2" else "apache2"


@pytest.mark.parametrize("name", [f"php{PHP}-fpm", f"php{PHP}-mysql"])
def test_php_packages_installed(host, name):
    assert host.package(name).is_installed


def test_only_the_chosen_web_server_installed(host, server, other_server):
    assert host.package(server).is_installed
    assert not host.package(other_server).is_installed


def test_php_fpm_is_target_version(host):
    assert host.package(f"php{PHP}-fpm").version.startswith(f"{PHP}.")


def test_services_running_and_enabled(host, server):
    for service in (server, f"php{PHP}-fpm"):
        svc = host.service(service)
        assert svc.is_running, service
        assert svc.is_enabled, service


def test_http_port_listening(host):
    assert host.socket("tcp://80").is_listening


def test_pool_socket_owned_by_web_server(host):
    sock = host.file(SOCKET)
    assert sock.exists
    assert sock.user == "www-data"
    assert sock.mode == 0o660
    assert host.socket(f"unix://{SOCKET}").is_listening


def test_site_user_created_without_login(host):
    user = host.user("acme")
    assert user.exists
    assert user.group == "acme"
    assert user.shell == "/usr/sbin/nologin"


def test_defaults_disabled(host, server):
    default = "/etc/nginx/sites-enabled/default" if server == "nginx" else "/etc/apache2/sites-enabled/000-default.conf"
    assert not host.file(default).exists
    assert not host.file(f"/etc/php/{PHP}/fpm/pool.d/www.conf").exists


def test_pool_config_rendered(host):
    conf = host.file(f"/etc/php/{PHP}/fpm/pool.d/acme.conf").content_string
    assert "user = acme" in conf
    assert f"listen = {SOCKET}" in conf
    assert "pm.max_children = 4" in conf
    assert "php_admin_value[open_basedir] = /srv/www/acme:/tmp" in conf


def test_configs_validate(host, server):
    host.run_expect([0], "nginx -t" if server == "nginx" else "apache2ctl configtest")
    host.run_expect([0], f"php-fpm{PHP} -t")


@pytest.mark.parametrize("name", ["www.acme.example", "acme.example", "acme.poc.smartt.example"])
def test_site_answers_with_its_names_on_target_php(host, name):
    status, body = http_get(host, "/", name)
    assert status == 200, body
    info = parse_kv(body)
    assert info["php_version"].startswith(f"{PHP}.")
    assert info["pool_user"] == "acme"
    assert info["db"].startswith("ok"), body
    assert info["blogname"] == "Acme Widgets"


def test_pretty_permalinks_reach_front_controller(host):
    status, body = http_get(host, "/2024/05/hello-world/", "www.acme.example")
    assert status == 200, body
    assert parse_kv(body)["request_uri"] == "/2024/05/hello-world/"


def test_extra_config_applied(host):
    status, _ = http_get(host, "/xmlrpc.php", "www.acme.example")
    assert status == 403


def test_apache_uses_the_pool_socket(host, server):
    if server != "apache2":
        pytest.skip("apache2 only")
    conf = host.file("/etc/apache2/sites-enabled/acme.conf").content_string
    assert f'SetHandler "proxy:unix:{SOCKET}|fcgi://acme"' in conf
    assert "ServerAlias acme.poc.smartt.example" in conf
    assert host.run("apache2ctl -M").stdout.count("proxy_fcgi_module") == 1


def test_unknown_host_not_served_the_site(host):
    status, body = http_get(host, "/", "unknown.example")
    assert status == 421
    assert "php_version" not in body
