"""roles/s4_webstack refuses names and paths that would break out of the config it renders (issue #13, finding 3)
and pool users that would run a tenant's PHP as root or as a system account (finding 6).

The role's own input validation (tasks/validate_input.yml) runs against localhost in check mode through the real
ansible-playbook: no lab needed. A refusal must name the site/pool and field and say nothing was changed; the
rendered templates quote the document root and socket paths.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROLE = ROOT / "roles" / "s4_webstack"

POOL = {"name": "acme", "user": "s4acme"}
SITE = {"name": "acme", "domain": "www.acme.example", "aliases": ["acme.example"], "docroot": "/srv/www/acme/htdocs",
        "pool": "acme", "client": "Acme"}


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


SYSTEM_ACCOUNT = next(n for n in ("daemon", "bin", "sys", "nobody") if _exists(n))

# case id -> (pools, sites, further role vars); every case is validated in one ansible-playbook run (one play each)
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]] = {}


def _case(cid: str, pools: list[dict[str, Any]], sites: list[dict[str, Any]], **extra: Any) -> str:
    CASES[cid] = (pools, sites, extra)
    return cid


def _site(**kw: Any) -> list[dict[str, Any]]:
    return [{**SITE, **kw}]


def _pool(**kw: Any) -> list[dict[str, Any]]:
    return [{**POOL, **kw}]


VALID = _case(
    "valid", [{"name": "acme", "user": "s4acme"}, {"name": "globex", "user": "s4globex", "group": "s4globex"},
              {"name": "shared", "user": "www-data"}],
    [SITE, {**SITE, "name": "globex", "domain": "www.globex.example", "aliases": ["*.globex.example"],
            "docroot": "/srv/www/globex/.public", "pool": "globex"}])

DOCROOTS = ["/srv/www/x; } server { root /;", "/srv/www/acme/../../../etc", "/srv/www/x y", '/srv/www/x"',
            "/srv/www/$host", "/", "srv/www/acme", "/srv/www/acme\n"]
for _i, _d in enumerate(DOCROOTS):
    _case(f"docroot{_i}", _pool(), _site(docroot=_d))

SITE_FIELDS: list[tuple[str, Any]] = [
    ("domain", "www.acme.example; root /"),
    ("aliases", ["acme.example other-tenant.example"]),
    ("preview_domains", ["acme.poc.example\n}"]),
    ("client", "Acme\n}\nserver {"),
    ("index", ["index.php; deny all"]),
    ("try_files", "$uri; } location / { root /"),
    ("allow_override", "All\n</Directory>"),
    ("client_max_body_size", "64m; root /"),
]
for _i, (_f, _v) in enumerate(SITE_FIELDS):
    _case(f"site{_i}", _pool(), _site(**{_f: _v}))

NAMES = ["../../etc/nginx/nginx", "acme conf", "Acme", "-acme"]
for _i, _n in enumerate(NAMES):
    _case(f"name{_i}", [{**POOL, "name": _n}], [{**SITE, "name": _n, "pool": _n}])

_case("user-root", _pool(user="root"), _site())
_case("group-root", _pool(group="root"), _site())
_case("user-root-listed", _pool(user="root"), _site(), s4_webstack_pool_system_accounts_allowed=["root"])
_case("user-system", _pool(user=SYSTEM_ACCOUNT, group="s4acme"), _site())
_case("user-system-listed", _pool(user=SYSTEM_ACCOUNT, group="s4acme"), _site(),
      s4_webstack_pool_system_accounts_allowed=[SYSTEM_ACCOUNT])

POOL_FIELDS: list[tuple[str, Any]] = [
    ("user", "acme\nuser = root"),
    ("listen", "/run/php/x.sock|fcgi://evil"),
    ("listen", "127.0.0.1:9000"),
    ("chdir", "/srv/../root"),
    ("listen_mode", "0666\nuser = root"),
    ("max_children", "5\nuser = root"),
    ("php_admin_values", {"open_basedir": "/srv/www/acme\nphp_admin_value[open_basedir] = /"}),
    ("env", {"PATH\n": "x"}),
]
for _i, (_f, _v) in enumerate(POOL_FIELDS):
    _case(f"pool{_i}", _pool(**{_f: _v}), _site())


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """case id -> "passed" or the role's fail message, from one check-mode run of every case against localhost."""
    tmp = tmp_path_factory.mktemp("webstack-inputs")
    inventory = {"all": {"hosts": {
        cid: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
              "s4_webstack_pools": pools, "s4_webstack_sites": sites, **extra}
        for cid, (pools, sites, extra) in CASES.items()}}}
    (tmp / "cases.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    play = [{
        "name": "validate the s4_webstack input of every case",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"name": "validate", "block": [
            {"name": "run the role's input validation",
             "ansible.builtin.include_role": {"name": "smartt.s4.s4_webstack", "tasks_from": "validate_input"},
             "vars": {"__s4_webstack_php": "8.4"}},
            {"name": "record", "ansible.builtin.debug": {"msg": "passed"}},
        ], "rescue": [{"name": "record", "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}}]}],
    }]
    pb = tmp / "validate.yml"
    pb.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp / "facts"), ANSIBLE_FORKS="16",
               ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    r = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp / "cases.yml"), "--check", str(pb)],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out: dict[str, str] = {}
    for task in json.loads(r.stdout)["plays"][0]["tasks"]:
        if task["task"]["name"] == "record":
            out.update({cid: res.get("msg", "") for cid, res in task["hosts"].items() if not res.get("skipped")})
    assert set(out) == set(CASES)
    return out


def _refused(msg: str, *needles: str) -> None:
    assert msg.startswith("Invalid s4_webstack input, nothing was changed: "), msg
    for n in needles:
        assert n in msg, (n, msg)


def test_valid_input_with_one_user_per_pool_passes(verdicts: dict[str, str]) -> None:
    assert verdicts[VALID] == "passed"


@pytest.mark.parametrize(("i", "docroot"), list(enumerate(DOCROOTS)))
def test_docroot_that_breaks_out_of_the_server_block_is_refused(verdicts: dict[str, str], i: int, docroot: str) -> None:
    _refused(verdicts[f"docroot{i}"], 'site "acme": docroot ' + json.dumps(docroot))


@pytest.mark.parametrize(("i", "field"), [(i, f) for i, (f, _v) in enumerate(SITE_FIELDS)])
def test_site_field_that_injects_config_is_refused(verdicts: dict[str, str], i: int, field: str) -> None:
    _refused(verdicts[f"site{i}"], f'site "acme": {field}')


@pytest.mark.parametrize(("i", "name"), list(enumerate(NAMES)))
def test_site_or_pool_name_that_is_a_path_is_refused(verdicts: dict[str, str], i: int, name: str) -> None:
    _refused(verdicts[f"name{i}"], "invalid site name " + json.dumps(name), "invalid pool name " + json.dumps(name))


def test_pool_user_root_is_refused_even_when_allow_listed(verdicts: dict[str, str]) -> None:
    _refused(verdicts["user-root"], 'pool "acme": user "root" is refused: a pool never runs as root')
    _refused(verdicts["group-root"], 'pool "acme": group "root" is refused')
    _refused(verdicts["user-root-listed"], 'pool "acme": user "root" is refused')


def test_pool_user_that_is_an_existing_system_account_is_refused(verdicts: dict[str, str]) -> None:
    uid = pwd.getpwnam(SYSTEM_ACCOUNT).pw_uid
    _refused(verdicts["user-system"], f'pool "acme": user "{SYSTEM_ACCOUNT}" is an existing system account (uid {uid})')
    assert verdicts["user-system-listed"] == "passed"


@pytest.mark.parametrize(("i", "field"), [(i, f) for i, (f, _v) in enumerate(POOL_FIELDS)])
def test_pool_field_that_injects_a_directive_is_refused(verdicts: dict[str, str], i: int, field: str) -> None:
    _refused(verdicts[f"pool{i}"], f'pool "acme": {field}')


def _render(template: str, **ctx: Any) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")), keep_trailing_newline=True)
    env.filters["indent"] = jinja2.filters.do_indent  # type: ignore[attr-defined]
    return env.get_template(template).render(ansible_managed="managed", s4_webstack_http_port=80,
                                             s4_webstack_listen_ipv6=True, **ctx)


def test_rendered_vhosts_quote_the_docroot_and_socket() -> None:
    site = {**SITE, "preview_domains": [], "php": True, "index": ["index.php"], "try_files": "$uri /index.php",
            "allow_override": "All", "fallback_resource": "/index.php", "client_max_body_size": "64m",
            "extra_config": ""}
    sockets = {"acme": "/run/php/php8.4-fpm-acme.sock"}
    nginx = _render("nginx-site.conf.j2", s4_webstack_site=site, __s4_webstack_pool_sockets=sockets)
    assert '    root "/srv/www/acme/htdocs";\n' in nginx
    assert 'fastcgi_pass "unix:/run/php/php8.4-fpm-acme.sock";' in nginx
    apache = _render("apache2-site.conf.j2", s4_webstack_site=site, __s4_webstack_pool_sockets=sockets)
    assert '    DocumentRoot "/srv/www/acme/htdocs"\n' in apache
    assert '    <Directory "/srv/www/acme/htdocs">\n' in apache
