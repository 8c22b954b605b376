"""Observable state of a trixie host after s4_mariadb + s4_webstack converged the Acme site."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "molecule" / "resources" / "tests"))
from s4_molecule_helpers import http_get, parse_kv  # noqa: E402

PHP = "8.4"  # trixie's PHP, what the role installs when s4_webstack_php_version is empty
SOCKET = f"/run/php/php{PHP}-fpm-acme.sock"


@pytest.mark.parametrize("name", ["nginx", f"php{PHP}-fpm", f"php{PHP}-mysql"])
def test_packages_installed(host, name):
    assert host.package(name).is_installed


def test_php_cli_and_fpm_are_target_version(host):
    assert host.package(f"php{PHP}-fpm").version.startswith(f"{PHP}.")
    assert not host.package("apache2").is_installed


@pytest.mark.parametrize("service", ["nginx", f"php{PHP}-fpm"])
def test_services_running_and_enabled(host, service):
    svc = host.service(service)
    assert svc.is_running
    assert svc.is_enabled


def test_http_port_listening(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening


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


def test_defaults_disabled(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    assert not host.file(f"/etc/php/{PHP}/fpm/pool.d/www.conf").exists


def test_pool_config_rendered(host):
    conf = host.file(f"/etc/php/{PHP}/fpm/pool.d/acme.conf").content_string
    assert "user = acme" in conf
    assert f"listen = {SOCKET}" in conf
    assert "pm.max_children = 4" in conf
    assert "php_admin_value[open_basedir] = /srv/www/acme:/tmp" in conf


def test_configs_validate(host):
    host.run_expect([0], "nginx -t")
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


def test_unknown_host_not_served_the_site(host):
    status, body = http_get(host, "/", "unknown.example")
    assert status == 421
    assert "php_version" not in body
