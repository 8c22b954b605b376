"""The CMDB boundary (issue #13, findings 2, 3 and 11): whoever can edit the CMDB must not get code execution on
the controller, and no name or path from it may break a config line, a shell line, SQL or a mail header.

Each attack is a hostile CMDB; the tests assert a clear refusal that names file, host and field, that nothing is
added to the inventory, and -- where the attack would run a command -- that the command did not run (a marker file
stays absent) through the real ``ansible-inventory`` / ``ansible-playbook`` with the project's ansible.cfg.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from s4 import cmdb

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

BASE: dict[str, Any] = {
    "plugin": "smartt.s4.cmdb",
    "cmdb": {
        "version": 1,
        "domain": "smartt.example",
        "clients": {"acme": {"name": "Acme Ltd", "contacts": ["ops@acme.example"]}},
        "hosts": {
            "mvps-acme-01": {
                "service": "mvps",
                "address": "127.0.0.1",
                "clients": ["acme"],
                "sites": [{
                    "name": "acme-blog", "client": "acme", "domain": "blog.acme.example",
                    "aliases": ["www.blog.acme.example"], "docroot": "/srv/www/acme-blog", "app": "wordpress",
                    "db": {"engine": "mariadb", "name": "acme_wp", "server": "mvps-acme-01"},
                }],
            },
        },
    },
}
HOST = "inv/cmdb.yml: host mvps-acme-01: "
SITE = HOST + "sites[0] (acme-blog)."


def _doc(**top: Any) -> dict[str, Any]:
    d = json.loads(json.dumps(BASE))
    d.update(top)
    return d


def _host(d: dict[str, Any]) -> dict[str, Any]:
    return d["cmdb"]["hosts"]["mvps-acme-01"]  # type: ignore[no-any-return]


def _site(d: dict[str, Any]) -> dict[str, Any]:
    return _host(d)["sites"][0]  # type: ignore[no-any-return]


def _refusals(d: dict[str, Any]) -> list[str]:
    with pytest.raises(cmdb.CmdbError) as exc:
        cmdb.loads(yaml.safe_dump(d, sort_keys=False), "inv/cmdb.yml")
    return exc.value.problems


def _env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
                ANSIBLE_INVENTORY_ENABLED="smartt.s4.cmdb", ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
                ANSIBLE_NOCOLOR="1", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"),
                ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp / "cp"), ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"),
                ANSIBLE_HOST_KEY_CHECKING="false")


def _write(tmp: Path, d: dict[str, Any]) -> Path:
    inv = tmp / "cmdb.yml"
    inv.write_text(yaml.safe_dump(d, sort_keys=False))
    return inv


def _inventory(tmp: Path, inv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ansible-inventory"), "-i", str(inv), "--list"], capture_output=True, text=True,
                          cwd=ROOT, env=_env(tmp), timeout=120)


def _playbook(tmp: Path, inv: Path, tasks: list[dict[str, Any]], **play: Any) -> subprocess.CompletedProcess[str]:
    pb = tmp / "play.yml"
    pb.write_text(yaml.safe_dump([{"name": "probe", "hosts": "all", "gather_facts": False, **play, "tasks": tasks}]))
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), str(pb)], capture_output=True, text=True,
                          cwd=ROOT, env=_env(tmp), timeout=180)


# --- names and paths that would break SQL, shell lines, nginx/apache config or mail headers -------------------------

@pytest.mark.parametrize("name", [
    "x'; DROP DATABASE acme_wp; --",
    "x`touch /tmp/pwned`",
    "host=evil.example",
    "../../../../.lab/ssh/id_ed25519",
    "-oProxyCommand=id",
])
def test_database_name_with_sql_shell_or_conninfo_injection_is_refused(name: str) -> None:
    d = _doc()
    _site(d)["db"]["name"] = name
    problems = _refusals(d)
    assert [p for p in problems if p.startswith(SITE + "db.name: database name ")], problems
    assert all(repr(name) in p for p in problems if "db.name" in p)


@pytest.mark.parametrize("docroot", [
    "/srv/www/x; } server { root /;",   # closes the server block and serves the whole file system
    "/srv/www/acme-blog/../../../etc",  # traversal
    "/srv/www/x y",                     # a second argument to `root`
    "/srv/www/$document_root",
    '/srv/www/x"',
    "/",
])
def test_docroot_that_breaks_out_of_the_vhost_is_refused(docroot: str) -> None:
    d = _doc()
    _site(d)["docroot"] = docroot
    problems = _refusals(d)
    assert len(problems) == 1 and problems[0].startswith(SITE + "docroot: "), problems


def test_alias_with_a_space_cannot_add_server_names() -> None:
    d = _doc()
    _site(d)["aliases"] = ["www.blog.acme.example other-tenant.example"]
    assert _refusals(d) == [SITE + "aliases: alias 'www.blog.acme.example other-tenant.example' is refused: a DNS "
                            "name, optionally starting with '*.'"]


@pytest.mark.parametrize("domain", ["blog.acme.example;", "blog.acme.example\n}", "*.acme.example"])
def test_site_domain_that_is_not_a_dns_name_is_refused(domain: str) -> None:
    d = _doc()
    _site(d)["domain"] = domain
    problems = _refusals(d)
    assert len(problems) == 1 and problems[0].startswith(SITE + "domain: domain "), problems


def test_contact_with_crlf_cannot_inject_a_bcc_header() -> None:
    d = _doc()
    d["cmdb"]["clients"]["acme"]["contacts"] = ["ops@acme.example\r\nBcc: everyone@evil.example"]
    problems = _refusals(d)
    assert problems == ["inv/cmdb.yml: client acme: contacts: contact 'ops@acme.example\\r\\nBcc: everyone@evil.example'"
                        " is refused: a plain address local@domain (no spaces, no line breaks, no display name)"]


@pytest.mark.parametrize(("field", "value"), [
    ("app", "../../bin/sh"),
    ("app", "WordPress; rm -rf /"),
    ("name", "../acme"),
    ("name", "acme blog"),
])
def test_site_app_or_name_with_path_or_shell_characters_is_refused(field: str, value: str) -> None:
    d = _doc()
    _site(d)[field] = value
    problems = _refusals(d)
    assert any(p.startswith(HOST + f"sites[0].{field}: ") or p.startswith(SITE + f"{field}: ") for p in problems)


def test_client_name_with_a_line_break_is_refused() -> None:
    d = _doc()
    d["cmdb"]["clients"]["acme"]["name"] = "Acme\nBcc: x@evil.example"
    assert _refusals(d)[0].startswith("inv/cmdb.yml: client acme: name: ")


@pytest.mark.parametrize("address", ["-oProxyCommand=touch /tmp/x", "10.0.0.1 -p 2222", "evil.example;id"])
def test_host_address_that_would_be_an_ssh_option_is_refused(address: str) -> None:
    d = _doc()
    _host(d)["address"] = address
    problems = _refusals(d)
    assert len(problems) == 1 and problems[0].startswith(HOST + "address: "), problems


def test_host_name_with_a_slash_is_refused() -> None:
    d = _doc()
    d["cmdb"]["hosts"]["../../etc/cron.d/x"] = {"service": "internal", "address": "127.0.0.2"}
    assert _refusals(d) == ["inv/cmdb.yml: host '../../etc/cron.d/x': name: inventory hostname '../../etc/cron.d/x'"
                            " is refused: letters, digits, '.', '_' or '-', starting with a letter or digit"]


# --- vars: connection settings that run commands on the controller -------------------------------------------------

@pytest.mark.parametrize("key", [
    "ansible_ssh_common_args", "ansible_ssh_extra_args", "ansible_ssh_args", "ansible_scp_extra_args",
    "ansible_sftp_extra_args", "ansible_ssh_executable", "ansible_python_interpreter", "ansible_connection",
    "ansible_become_exe", "ansible_become_method", "ansible_shell_executable", "ansible_network_os",
    "ansible_paramiko_proxy_command", "ansible_private_key_file",
])
def test_vars_connection_setting_that_runs_commands_is_refused_even_when_allow_listed(key: str) -> None:
    d = _doc()
    _host(d)["vars"] = {key: "-oProxyCommand=touch /tmp/pwned"}
    assert _refusals(d) == [HOST + f"vars.{key}: is refused: this connection setting can run commands or choose "
                            "executables on the controller, it is never accepted from the CMDB (not even through "
                            "allow_vars)"]
    d["allow_vars"] = [key]
    assert ("inv/cmdb.yml: allow_vars: " + repr(key) + " can never be allowed") in "\n".join(_refusals(d))


def test_vars_ansible_port_needs_the_allow_list_and_a_port_number() -> None:
    d = _doc()
    _host(d)["vars"] = {"ansible_port": 2222}
    assert _refusals(d) == [HOST + "vars.ansible_port: is refused: connection settings (ansible_*) need the "
                            "inventory source's allow_vars option to list them (allow_vars: [ansible_port])"]
    d["allow_vars"] = ["ansible_port"]
    assert cmdb.loads(yaml.safe_dump(d), "inv/cmdb.yml").hostvars("mvps-acme-01")["ansible_port"] == 2222
    _host(d)["vars"] = {"ansible_port": "22 -oProxyCommand=id"}
    assert _refusals(d) == [HOST + "vars.ansible_port: must be an integer from 1 to 65535, got "
                            "'22 -oProxyCommand=id'"]


@pytest.mark.parametrize(("key", "value"), [
    ("s4_data_migrate_follow_links", True),
    ("s4_webstack_pool_system_accounts_allowed", ["daemon"]),
    ("s4_poc_golive_mode", "switch"),
])
def test_vars_cannot_flip_the_toolkits_own_security_switches(key: str, value: Any) -> None:
    d = _doc()
    _host(d)["vars"] = {key: value, "s4_lab_container": "s4lab-x"}
    assert _refusals(d) == [HOST + f"vars.{key}: is refused: s4_* variables are the toolkit's own settings (role "
                            "defaults, playbook switches); set them in group_vars/host_vars or the playbook, not in "
                            "the CMDB"]
    d = _doc(compose={key: "true"})
    assert _refusals(d) == [f"inv/cmdb.yml: compose.{key}: is refused: s4_* variables are the toolkit's own settings "
                            "(role defaults, playbook switches), a CMDB may not compose them"]


def test_vars_with_an_internal_or_invalid_name_is_refused() -> None:
    d = _doc()
    _host(d)["vars"] = {"__s4_webstack_php": "x", "a-b": 1}
    problems = _refusals(d)
    assert [p.split(": ", 3)[2] for p in problems] == ["vars.'__s4_webstack_php'", "vars.'a-b'"]


def test_compose_cannot_set_ssh_common_args_or_run_a_lookup(tmp_path: Path) -> None:
    marker = tmp_path / "compose-ran"
    d = _doc(compose={"ansible_ssh_common_args": f"'-oProxyCommand=touch {marker}'",
                      "note": f"lookup('pipe', 'touch {marker}')"},
             groups={"pwned": f"query('pipe', 'touch {marker}') is truthy"})
    r = _inventory(tmp_path, _write(tmp_path, d))
    assert r.returncode != 0
    assert "compose.ansible_ssh_common_args: is refused" in r.stderr
    assert "compose.note: " in r.stderr and "uses lookup()" in r.stderr
    assert "groups.pwned: " in r.stderr and "uses query()" in r.stderr
    assert not marker.exists()


def test_vars_ssh_common_args_proxycommand_does_not_run_on_the_controller(tmp_path: Path) -> None:
    """The attack of finding 11: a ProxyCommand in the CMDB ran on the controller at the first ssh connection."""
    marker = tmp_path / "proxycommand-ran"
    d = _doc(allow_vars=["ansible_ssh_common_args"])
    _host(d)["vars"] = {"ansible_ssh_common_args": f"-oProxyCommand='touch {marker}'"}
    inv = _write(tmp_path, d)
    r = _inventory(tmp_path, inv)
    assert r.returncode != 0 and '"mvps-acme-01"' not in r.stdout  # nothing added
    assert f"{inv}: host mvps-acme-01: vars.ansible_ssh_common_args: is refused" in r.stderr
    assert f"{inv}: allow_vars: 'ansible_ssh_common_args' can never be allowed" in r.stderr
    p = _playbook(tmp_path, inv, [{"name": "connect", "ansible.builtin.ping": {}}])
    assert p.returncode != 0
    assert "vars.ansible_ssh_common_args: is refused" in p.stdout + p.stderr
    assert not marker.exists(), "the CMDB's ProxyCommand ran on the controller"


# --- Jinja in CMDB data ---------------------------------------------------------------------------------------------

def test_jinja_in_site_name_or_vars_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "jinja-ran"
    d = _doc()
    _site(d)["name"] = "{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    _host(d)["vars"] = {"note": "{% if lookup('pipe', 'touch " + str(marker) + "') %}x{% endif %}"}
    inv = _write(tmp_path, d)
    r = _inventory(tmp_path, inv)
    assert r.returncode != 0
    assert f"{inv}: host mvps-acme-01: sites[0].name: " in r.stderr and "holds a Jinja marker" in r.stderr
    assert f"{inv}: host mvps-acme-01: vars.note: " in r.stderr
    assert not marker.exists()


def test_inventory_plugin_data_is_never_templated_even_past_validation(tmp_path: Path) -> None:
    """ansible-core 2.19 treats inventory-plugin data as untrusted: checked for our plugin with Jinja that got past
    validation (a poisoned inventory cache entry with the CMDB's own digest) -- the pipe lookup must not run."""
    marker = tmp_path / "cache-jinja-ran"
    cache = tmp_path / "inv-cache"
    d = _doc(cache=True, cache_plugin="jsonfile", cache_connection=str(cache))
    inv = _write(tmp_path, d)
    assert _inventory(tmp_path, inv).returncode == 0
    [entry] = list(cache.iterdir())
    outer = json.loads(entry.read_text())  # ansible-core 2.19 jsonfile cache: {"__payload__": "<json>"}
    data = json.loads(outer["__payload__"])
    hv = data["hosts"]["mvps-acme-01"]["vars"]
    payload = "{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    hv["note"] = payload
    hv["s4_sites"][0]["name"] = payload
    entry.write_text(json.dumps({"__payload__": json.dumps(data)}))
    p = _playbook(tmp_path, inv, [
        {"name": "show the note", "ansible.builtin.debug": {"var": "note"}},
        {"name": "use the site name", "ansible.builtin.debug": {"msg": "site {{ s4_sites[0].name }}"}},
        {"name": "copy the note into a fact", "ansible.builtin.set_fact": {"x": "{{ note }}"}},
        {"name": "show the fact", "ansible.builtin.debug": {"msg": "{{ x }}"}},
    ], connection="local")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "lookup('pipe'" in p.stdout  # shown as text
    assert not marker.exists(), "inventory data was templated on the controller"


# --- the committed CMDBs stay valid -----------------------------------------------------------------------------------

def test_committed_cmdbs_pass_the_strict_boundary() -> None:
    example = cmdb.load(ROOT / "inventories" / "example" / "cmdb.yml")
    assert example.hostvars("mvps-globex-02")["ansible_port"] == 2222  # through allow_vars
    from s4.lab import cmdb as lab_cmdb

    lab = cmdb.validate(lab_cmdb.build()["cmdb"], "lab")
    assert all(h.vars == {"s4_lab_container": f"s4lab-{n}"} for n, h in lab.hosts.items())
