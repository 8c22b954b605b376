"""The POC plan against hostile names (issue #13 findings 2, 3 (apps), 6 and the naming part of 10).

Every test performs the attack on the POC's controller-side code (s4/poc/plan.py, stack.py, apps.py, the poc filters
and the password task of playbooks/poc_provision.yml) and asserts it fails. No lab needed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from s4 import names
from s4.poc import apps, stack
from s4.poc import plan as poc_plan

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".collections"
TRAVERSAL = "../../../../../.lab/ssh/id_ed25519"
PROFILE = {"name": "debian13", "template": 9000}
VERSIONS = {"php": {"version": "8.4"}, "mariadb": {"version": "11.8"}, "postgresql": {"version": "17"}}
ALL_PRIVS = ("ALTER,ALTER ROUTINE,CREATE,CREATE ROUTINE,CREATE TEMPORARY TABLES,CREATE VIEW,DELETE,DROP,EVENT,"
             "EXECUTE,INDEX,INSERT,LOCK TABLES,REFERENCES,SELECT,SHOW VIEW,TRIGGER,UPDATE")
LINUX_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _wp(name: str, client: str, domain: str, db: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "client": client, "domain": domain, "aliases": kw.pop("aliases", []),
            "docroot": "/usr/share/wordpress", "app": "wordpress",
            "db": {"engine": "mariadb", "name": db, "server": None}, **kw}


def _hostvars(sites: list[dict[str, Any]], host: str = "shared-09") -> dict[str, dict[str, Any]]:
    return {host: {"s4_service": "shared_hosting", "s4_in_scope": True, "ansible_host": "10.89.40.13",
                   "s4_sites": sites}}


def _build(sites: list[dict[str, Any]], site: str | None = None, host: str = "shared-09") -> dict[str, Any]:
    return poc_plan.build(host, _hostvars(sites, host), [host], site=site, domain="smartt.example",
                          profile=PROFILE, versions=VERSIONS)


ACME = _wp("acme-blog", "acme", "blog.acme.example", "acme_wp", aliases=["www.blog.acme.example"])
ACME_SHOP = _wp("acme-shop", "acme", "shop.acme.example", "acme_shop")
GLOBEX = _wp("globex-news", "globex", "news.globex.example", "globex_wp")
PLAIN = {"name": "initech-www", "client": "initech", "domain": "www.initech.example",
         "docroot": "/srv/www/initech-www/public", "app": "php", "db": None}


# ------------------------------------------------------------------------------------------- finding 2: accounts

def test_account_named_traversal_is_refused_naming_source_host_and_database() -> None:
    rows = f"'acme_wp'@'localhost'\t{ALL_PRIVS}\n'{TRAVERSAL}'@'localhost'\tSELECT\n"
    with pytest.raises(poc_plan.PlanError) as exc:
        poc_plan.mariadb_accounts(rows, "acme_wp", "mvps-acme-01")
    msg = str(exc.value)
    assert "mvps-acme-01" in msg and "acme_wp" in msg and "refused" in msg and "Nothing was changed" in msg
    with pytest.raises(poc_plan.PlanError, match="globex-01.*globex_crm"):
        poc_plan.postgres_roles(f"{TRAVERSAL}|f|t\n", "globex-01", "globex_crm")


@pytest.mark.parametrize("account", [TRAVERSAL, "a/b", "x`id`", "x'y", 'x"y', "host=evil", "-oX", ".hidden", "a b"])
def test_hostile_account_name_from_the_source_is_refused_never_skipped(account: str) -> None:
    # mysql --batch prints a quote inside a name as is: whatever the grantee holds, the POC is refused, no account is
    # left out silently
    rows = f"'{account}'@'localhost'\tSELECT\n"
    with pytest.raises(poc_plan.PlanError):
        poc_plan.mariadb_accounts(rows, "acme_wp", "h")
    with pytest.raises(poc_plan.PlanError):
        poc_plan.postgres_roles(f"{account}|f|t\n", "h", "d")


def test_unparseable_grantee_line_is_refused_not_skipped() -> None:
    with pytest.raises(poc_plan.PlanError, match="grantee line"):
        poc_plan.mariadb_accounts("'acme_wp'@'localhost' SELECT\n", "acme_wp", "h")
    with pytest.raises(poc_plan.PlanError, match="role line"):
        poc_plan.postgres_roles("evil\n", "h", "d")
    with pytest.raises(poc_plan.PlanError, match="account host"):
        poc_plan.mariadb_accounts("'a'@'evil host'\tSELECT\n", "acme_wp", "h")
    with pytest.raises(poc_plan.PlanError, match="privilege"):
        poc_plan.mariadb_accounts("'a'@'%'\tSELECT),(evil\n", "acme_wp", "h")


def _stack_for(accounts: list[dict[str, Any]]) -> dict[str, Any]:
    pl = _build([ACME], site="acme-blog")
    facts = {"acme_wp": {"checksum": "c", "accounts": accounts, "roles": {"owner": "postgres", "roles": []}}}
    return stack.stack(pl, {}, facts, {})


def test_account_named_traversal_cannot_make_a_credential_path_outside_the_credentials_dir() -> None:
    # defence in depth: db facts that skipped the parser (a hand-made fact cache) are checked again in poc_stack
    hostile = [{"name": TRAVERSAL, "host": "localhost", "privileges": [{"db": "acme_wp", "privs": "SELECT"}]}]
    with pytest.raises(ValueError, match="acme_wp.*refused"):
        _stack_for(hostile)
    good = [{"name": n, "host": "localhost", "privileges": [{"db": "acme_wp", "privs": "ALL"}]}
            for n in ("acme_wp", "acme.wp", "acme_wp$")]
    st = _stack_for(good)
    files = st["credential_files"]
    assert set(files) == {"acme_wp", "acme.wp", "acme_wp$"}
    assert len(set(files.values())) == 3  # names that slug alike get different files
    for key in files.values():
        assert "/" not in key and not key.startswith(".") and re.fullmatch(r"[a-z0-9_-]+", key)
        credentials = Path("/poc/credentials")
        assert (credentials / key).resolve().parent == credentials


def test_poc_filter_refuses_a_hostile_account_from_the_source() -> None:
    sys.path.insert(0, str(COLLECTIONS))
    from ansible.errors import AnsibleFilterError
    from ansible_collections.smartt.s4.plugins.filter import poc

    with pytest.raises(AnsibleFilterError, match="mvps-acme-01"):
        poc.poc_mariadb_accounts(f"'{TRAVERSAL}'@'localhost'\tSELECT\n", "acme_wp", "mvps-acme-01")
    with pytest.raises(AnsibleFilterError, match="refused"):
        poc.poc_postgres_roles(f"{TRAVERSAL}|t|t\n", "mvps-globex-01", "globex_crm")


def _password_tasks() -> list[dict[str, Any]]:
    """The real password tasks of playbooks/poc_provision.yml: generate on the POC (root-only), read back, remember."""
    plays = yaml.safe_load((ROOT / "playbooks" / "poc_provision.yml").read_text())
    for play in plays:
        for t in play.get("tasks", []):
            subs = [dict(sub) for sub in t.get("block", [])]
            first = [i for i, sub in enumerate(subs)
                     if str(sub.get("name", "")).startswith("Generate (once) the database account passwords")]
            if first:
                tasks = subs[first[0]:first[0] + 3]
                assert str(tasks[-1].get("name", "")).startswith("Remember the database account passwords"), tasks
                return tasks
    raise AssertionError("password tasks not found in playbooks/poc_provision.yml")


def _run_password_task(tmp_path: Path, hostvars: dict[str, Any], tasks: list[dict[str, Any]]) -> subprocess.CompletedProcess:
    plan = _build([ACME], site="acme-blog")
    play = [{
        "name": "password task", "hosts": "localhost", "gather_facts": False,
        "vars": {"__s4_poc_plan": plan, "__s4_poc_hv": hostvars,
                 "__s4_poc_stack": "{{ __s4_poc_plan | smartt.s4.poc_stack(__s4_poc_hv, {}) }}",
                 # the POC's root-only secrets directory (playbooks/vars/poc_common.yml), here a temporary one
                 "__s4_poc_secrets_dir": str(tmp_path / "poc"),
                 "ansible_python_interpreter": sys.executable},
        "tasks": [*tasks, {"name": "write what the lookup returned",
                           "ansible.builtin.copy": {"dest": str(tmp_path / "out.json"),
                                                    "content": "{{ __s4_poc_passwords | to_json }}", "mode": "0600"}}],
    }]
    book = tmp_path / "book.yml"
    book.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(book)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)


def _planted(tmp_path: Path) -> str:
    """The operator's key, planted where the traversal from <poc>/credentials/ lands."""
    secret = "-----BEGIN OPENSSH PRIVATE KEY----- planted-operator-key-4f1c -----END OPENSSH PRIVATE KEY-----"
    (tmp_path / "poc" / "credentials").mkdir(parents=True)
    (tmp_path / "id_ed25519").write_text(secret)
    return secret


def test_account_named_traversal_cannot_read_operator_key_through_the_password_lookup(tmp_path: Path) -> None:
    secret = _planted(tmp_path)
    hostile = "../../id_ed25519"  # from <tmp>/poc/credentials/ to the planted key
    tasks = _password_tasks()
    for task in tasks[:2]:
        task["loop"] = [hostile]  # as if the source had such an account: the playbook's file path is what is tested
    hv = {"shared-09": {"s4_poc_db_facts": {"acme_wp": {"checksum": "c", "accounts": [
        {"name": hostile, "host": "localhost", "privileges": [{"db": "acme_wp", "privs": "SELECT"}]}]}}}}
    p = _run_password_task(tmp_path, hv, tasks)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out[-2000:]  # poc_stack refuses the account before any lookup
    assert "database acme_wp" in out and "refused" in out, out[-2000:]
    assert secret not in out
    assert not (tmp_path / "out.json").exists()
    assert list((tmp_path / "poc" / "credentials").iterdir()) == []
    assert (tmp_path / "id_ed25519").read_text() == secret


def test_password_lookup_file_is_the_file_key_inside_the_credentials_dir(tmp_path: Path) -> None:
    secret = _planted(tmp_path)
    accounts = [{"name": n, "host": "localhost", "privileges": [{"db": "acme_wp", "privs": "ALL"}]}
                for n in ("acme_wp", "acme.wp")]
    hv = {"shared-09": {"s4_poc_db_facts": {"acme_wp": {"checksum": "c", "accounts": accounts}}}}
    p = _run_password_task(tmp_path, hv, _password_tasks())
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    got = json.loads((tmp_path / "out.json").read_text())
    assert set(got) == {"acme_wp", "acme.wp"} and secret not in got.values()
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", v) for v in got.values())
    created = sorted((tmp_path / "poc" / "credentials").iterdir())
    assert [f.name for f in created] == sorted(names.file_key(n) for n in got)
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in created)
    assert sorted(f.read_text() for f in created) == sorted(got.values())  # the file is the password, read back
    again = _run_password_task(tmp_path, hv, _password_tasks())  # a later job reads the same passwords back
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert json.loads((tmp_path / "out.json").read_text()) == got


# ------------------------------------------------------------------------------------ CMDB values in plan.build

@pytest.mark.parametrize("db", ["acme`wp", "acme'wp", 'acme"wp', "host=evil dbname=x", "-d", "../x", "a b"])
def test_database_name_with_backtick_quote_or_equals_is_refused_by_plan_build(db: str) -> None:
    with pytest.raises(poc_plan.PlanError, match="db.name"):
        _build([_wp("acme-blog", "acme", "blog.acme.example", db)], site="acme-blog")
    with pytest.raises(poc_plan.PlanError, match="database name"):
        poc_plan.mariadb_accounts("'a'@'%'\tSELECT\n", db, "mvps-acme-01")


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "../../etc"), ("client", "Acme Corp"), ("domain", "blog.acme.example; evil"),
     ("aliases", ["x y"]), ("docroot", "/srv/www/x;evil"), ("docroot", "/srv/../root"), ("docroot", "/"),
     ("app", "wordpress`id`")],
)
def test_hostile_cmdb_site_value_is_refused_by_plan_build(field: str, value: Any) -> None:
    s = dict(PLAIN, **{field: value})
    with pytest.raises(poc_plan.PlanError, match="nothing was changed|Nothing was changed"):
        _build([s])


def test_hostile_requested_site_or_source_is_refused() -> None:
    with pytest.raises(poc_plan.PlanError, match="s4_poc_site"):
        _build([PLAIN], site="../initech-www")
    with pytest.raises(poc_plan.PlanError, match="s4_poc_source"):
        poc_plan.build("a b", _hostvars([PLAIN]), ["a b"], domain="smartt.example", profile=PROFILE,
                       versions=VERSIONS)


# -------------------------------------------------------------------------------------- finding 3: apps.py SQL

@pytest.mark.parametrize("prefix", ["wp`; DROP DATABASE acme_wp; --", "wp'", 'wp"', "wp_ OR 1", "x" * 33])
def test_hostile_table_prefix_from_the_client_config_is_refused(prefix: str) -> None:
    config = f"<?php\n$table_prefix = '{prefix}';\n"
    with pytest.raises(apps.AppError, match="prefix"):
        apps.wp_prefix(config)
    with pytest.raises(apps.AppError, match="prefix"):
        apps.rc_prefix(f"<?php\n$config['db_prefix'] = '{prefix}';\n")
    entry = {"site": "s", "app": "wordpress", "family": "mariadb", "database": "acme_wp"}
    with pytest.raises(apps.AppError, match="prefix"):
        apps.query_command(entry, prefix)


@pytest.mark.parametrize("db", ["acme`wp", "acme'wp", "host=evil", "a b"])
def test_hostile_database_name_cannot_reach_the_upgrade_sql(db: str) -> None:
    for family in ("mariadb", "postgresql"):
        with pytest.raises(apps.AppError, match="refused"):
            apps.query_command({"site": "s", "app": "roundcube", "family": family, "database": db}, "rc_")


def test_upgrade_sql_quotes_identifiers_and_psql_gets_a_conninfo() -> None:
    wp = apps.query_command({"site": "s", "app": "wordpress", "family": "mariadb", "database": "acme-wp$1"}, "wp_")
    assert wp[-1] == "SELECT option_value FROM `acme-wp$1`.`wp_options` WHERE option_name = 'db_version'"
    pg = apps.query_command({"site": "s", "app": "roundcube", "family": "postgresql", "database": "rc-db"}, "rc_")
    assert "--dbname=dbname='rc-db'" in pg and "-d" not in pg
    assert pg[-1] == "SELECT value FROM \"rc_system\" WHERE name = 'roundcube-version'"


def test_php_string_escapes_quotes_and_backslashes_of_the_domain() -> None:
    code = apps.upgrade_command({"site": "s", "app": "wordpress", "php": "8.4", "domain": "x'); system('id'); //\\",
                                 "user": "s4-x-0123"})[-1]
    assert "$_SERVER['HTTP_HOST'] = 'x\\'); system(\\'id\\'); //\\\\';" in code
    with pytest.raises(apps.AppError, match="PHP version"):
        apps.upgrade_command({"site": "s", "app": "wordpress", "php": "8.4; id", "domain": "d"})
    with pytest.raises(apps.AppError, match="user"):
        apps.upgrade_command({"site": "s", "app": "wordpress", "php": "8.4", "domain": "d", "user": "-oevil"})


def test_account_name_is_regex_escaped_in_the_credential_regex() -> None:
    # an account "a.b" must not match (and rewrite the password of) account "aXb" in a shared config
    rx = stack.credential_regex(poc_plan.GENERIC_CREDENTIAL_PATTERN, "a.b")
    text = "$x = new PDO($dsn, 'aXb', 'keep'); $y = new PDO($dsn, 'a.b', 'old');"
    out = re.sub(rx, r"\g<1>NEW\g<2>", text)
    assert "'aXb', 'keep'" in out and "'a.b', 'NEW'" in out
    st = _stack_for([{"name": "acme.wp", "host": "localhost", "privileges": [{"db": "acme_wp", "privs": "ALL"}]}])
    assert st["credential_regexes"]["acme-blog"] == poc_plan.CREDENTIAL_PATTERNS["wordpress"]  # no {user} in it
    generic = dict(PLAIN, db={"engine": "mariadb", "name": "initech_www", "server": None})
    pl = _build([generic])
    st = stack.stack(pl, {}, {"initech_www": {"checksum": "c", "accounts": [
        {"name": "in.it", "host": "%", "privileges": [{"db": "initech_www", "privs": "ALL"}]}]}}, {})
    assert "in\\.it" in st["credential_regexes"]["initech-www"]


# ------------------------------------------------------------------------------- finding 6: shared-host tenants

def test_one_site_wordpress_plan_does_not_copy_etc_wordpress_or_another_sites_config_or_content() -> None:
    pl = _build([ACME, ACME_SHOP], site="acme-blog")
    paths = pl["data_paths"]
    assert "/etc/wordpress" not in paths and "/var/lib/wordpress" not in paths
    assert paths == ["/etc/wordpress/config-blog.acme.example.php", "/var/lib/wordpress/wp-content"]
    assert not any("shop.acme.example" in p for p in paths)
    listed = {n["path"]: n for n in pl["not_copied"]}
    assert not listed["/etc/wordpress/config-shop.acme.example.php"]["copied"]
    assert "acme-shop" in listed["/etc/wordpress/config-shop.acme.example.php"]["reason"]
    assert "/etc/wordpress" in listed and "/var/lib/wordpress" in listed
    # the content directory Debian's package shares between sites is copied only because both are acme's: said so
    assert listed["/var/lib/wordpress/wp-content"]["copied"]


def test_one_site_poc_refused_when_its_content_dir_is_shared_with_another_client() -> None:
    with pytest.raises(poc_plan.PlanError, match="globex-news \\(globex\\)"):
        _build([ACME, GLOBEX], site="acme-blog")


def test_one_site_poc_of_a_shared_host_copies_only_that_sites_docroot() -> None:
    other = dict(PLAIN, name="umbrella-shop", client="umbrella", docroot="/srv/www/umbrella-shop/public")
    pl = _build([PLAIN, other, GLOBEX], site="initech-www")
    assert pl["data_paths"] == ["/srv/www/initech-www/public"]
    listed = {n["path"] for n in pl["not_copied"]}
    assert "/srv/www/umbrella-shop/public" in listed and "/etc/wordpress/config-news.globex.example.php" in listed


def test_whole_host_poc_of_a_host_with_several_clients_is_refused() -> None:
    with pytest.raises(poc_plan.PlanError, match="several clients \\(acme, globex\\)"):
        _build([ACME, GLOBEX])
    assert _build([ACME, ACME_SHOP])["clients"] == ["acme"]


def test_pool_users_differ_per_site_and_are_never_www_data_or_root() -> None:
    sites = [dict(PLAIN, name=n, domain=f"{i}.initech.example", docroot=f"/srv/www/s{i}")
             for i, n in enumerate(["a.b", "a_b", "a-b", "A-B", "x" * 100, "y" * 99 + "1", "y" * 99 + "2"])]
    pl = _build(sites)
    st = stack.stack(pl, {}, {}, {})
    users = [p["user"] for p in st["pools"]]
    assert len(set(users)) == len(users) == len(sites)
    for u in users:
        assert LINUX_USER.fullmatch(u) and u not in ("www-data", "root") and u.startswith("s4-")
    assert st["pool_users"] == {s["name"]: s["pool_user"] for s in pl["sites"]}
    assert {p["group"] for p in st["pools"]} == {"www-data"}  # reads the copied root:www-data 0640 configs
    # the schema upgrade runs as the site's own user too
    acme = _build([ACME], site="acme-blog")
    entry = apps.upgrades(acme)[0]
    assert entry["user"] == acme["sites"][0]["pool_user"] != "www-data"
    assert apps.upgrade_command(entry)[:3] == ["runuser", "-u", entry["user"]]


# ------------------------------------------------------------------------------- finding 10: collision-free names

def test_colliding_poc_names_differ() -> None:
    a, b = poc_plan.poc_name("acme", "corp-blog"), poc_plan.poc_name("acme-corp", "blog")
    assert a != b and a.startswith("poc-acme-corp-blog-") and b.startswith("poc-acme-corp-blog-")
    long1, long2 = poc_plan.poc_name("acme", "x" * 80 + "1"), poc_plan.poc_name("acme", "x" * 80 + "2")
    assert long1 != long2
    c, d = poc_plan.poc_name("acme", "a.b"), poc_plan.poc_name("acme", "a_b")
    assert c != d
    for n in (a, b, long1, long2, c, d):
        assert len(n) <= 63 and n.startswith("poc-") and DNS_LABEL.fullmatch(n), n
    assert poc_plan.poc_name("acme", "corp-blog") == a  # stable across runs


def test_plan_names_of_two_colliding_cmdb_pairs_differ() -> None:
    one = _build([_wp("corp-blog", "acme", "a.example", "db1")], site="corp-blog")
    two = _build([_wp("blog", "acme-corp", "b.example", "db2")], site="blog")
    assert one["name"] != two["name"]
    assert one["legacy_name"] == two["legacy_name"] == "poc-acme-corp-blog"  # what used to collide


# ------------------------------------------------------------------------------------------------ lab (finding 6)

FOREIGN_CONFIG = "/etc/wordpress/config-news.tenant-b.example.php"
FOREIGN_DATA = "/var/lib/wordpress/tenant-b"


@pytest.mark.integration
def test_other_tenants_wordpress_config_on_the_source_never_reaches_a_one_site_poc(acme: Any, ssh: Any) -> None:
    """Another tenant's WordPress config (with its DB password) and files planted next to acme's on the source stay
    there: the acme-blog POC's /etc/wordpress holds only acme's config (plus its alias link and preview config,
    and the package's own files), its /var/lib/wordpress only wp-content."""
    from poc_support import entry, playbook

    assert acme.runs and acme.runs[0][0] == 0, acme.runs[0][1][-3000:] if acme.runs else "not provisioned"
    secret = "tenant-b-db-password-7e3a"
    try:
        ssh(acme.source, f"printf '%s' \"<?php define('DB_PASSWORD', '{secret}');\" > {FOREIGN_CONFIG} && "
                         f"chown root:www-data {FOREIGN_CONFIG} && chmod 640 {FOREIGN_CONFIG} && "
                         f"mkdir -p {FOREIGN_DATA} && echo {secret} > {FOREIGN_DATA}/private.txt")
        rc, out, _ = playbook("poc_provision.yml", *acme.extra)
        assert rc == 0, out[-5000:]
        e = entry(acme.name)
        cmd = ["ssh", "-i", e["ansible_ssh_private_key_file"], "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
               "-o", "UserKnownHostsFile=" + re.search(r"UserKnownHostsFile=(\S+)", e["ansible_ssh_common_args"])[1],
               f"root@{e['ansible_host']}",
               "ls -A /etc/wordpress; echo ---; ls -A /var/lib/wordpress; echo ---; "
               "grep -rl " + secret + " /etc /var/lib /srv 2>/dev/null || true"]
        listing = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
        etc, var, hits = (part.split() for part in listing.split("---"))
        assert not hits, hits
        configs = {n for n in etc if n.startswith("config-")}
        assert configs == {"config-blog.acme.example.php", "config-www.blog.acme.example.php",
                           "config-acme-blog.poc.smartt.example.php"}, etc
        assert var == ["wp-content"], var
        assert {n["path"] for n in acme.report["not_copied"]} >= {"/etc/wordpress", "/var/lib/wordpress"}
    finally:
        ssh(acme.source, f"rm -rf {FOREIGN_CONFIG} {FOREIGN_DATA}", check=False)


def test_legacy_poc_keeps_its_name_only_for_its_own_client_source_and_site() -> None:
    # a POC created before the hash suffix (its inventory entry records client, source and site) keeps its name, so
    # go-live and teardown still find it; the colliding other pair never takes it over
    existing = {"poc-acme-corp-blog": {"client": "acme", "source": "shared-09", "site": "corp-blog"}}
    sites = [_wp("corp-blog", "acme", "a.example", "db1")]
    own = poc_plan.build("shared-09", _hostvars(sites), ["shared-09"], site="corp-blog", domain="smartt.example",
                         profile=PROFILE, versions=VERSIONS, existing_pocs=existing)
    assert own["name"] == "poc-acme-corp-blog"
    other = poc_plan.build("shared-09", _hostvars([_wp("blog", "acme-corp", "b.example", "db2")]), ["shared-09"],
                           site="blog", domain="smartt.example", profile=PROFILE, versions=VERSIONS,
                           existing_pocs=existing)
    assert other["name"] != "poc-acme-corp-blog" and other["name"].startswith("poc-acme-corp-blog-")


def test_link_targets_allowed_only_in_package_trees_never_in_other_tenants_data() -> None:
    # what the link-target copy may fetch besides the data: the WordPress package's theme/plugin trees, root-owned;
    # never another site's files or a tenant's home
    pl = _build([ACME, ACME_SHOP], site="acme-blog")
    assert pl["link_target_roots"] == ["/usr/share/wordpress/wp-content/plugins",
                                       "/usr/share/wordpress/wp-content/themes"]
    assert _build([PLAIN, dict(PLAIN, name="other", client="umbrella", docroot="/srv/www/o")],
                  site="initech-www")["link_target_roots"] == []
