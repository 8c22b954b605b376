"""smartt.s4.app_db_config: format-aware rewrite of an application's DB settings (issue #17 part 3).

The fixtures (tests/unit/poc/fixtures/appcfg/) follow the shape of the upstream sample configs (wp-config-sample.php,
Debian's config-<host>.php as the lab writes it, Laravel's and Symfony's .env, Drupal's default.settings.php plus
the installer's block, Joomla's configuration.php, Magento 2's app/etc/env.php, roundcube's config.inc.php and
Debian's debian-db.php).
"""

from __future__ import annotations

import ast
import difflib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.smartt.s4.plugins.module_utils import s4_appcfg
from ansible_collections.smartt.s4.plugins.module_utils.s4_appcfg import AppConfigError, adjust_text
from ansible_collections.smartt.s4.plugins.modules import app_db_config
from hypothesis import given, settings
from hypothesis import strategies as st

FIX = Path(__file__).parent / "fixtures" / "appcfg"
ROOT = Path(__file__).resolve().parents[3]
WANTED = {"db_host": "db-new.poc.internal", "db_name": "poc_db", "db_user": "poc_user",
          "db_password": "Gen3ratedPassw0rd24chars"}
# values a hostile or odd source could make us write: each must stay inside its string
HOSTILE = [
    "it's", "back\\slash", "trailing\\", "\\'", 'dq"uote', "$dollar", "${APP_KEY}", "{$x}", "line\nbreak",
    "?><?php system('id'); ?>", "'); system('id'); //", "*/ /*", "# not a comment", "a b\tc", "\\\\'\\",
    "ünïcødé", "",
]
# fixture, kind, where each setting lives (read back through the module's own parsers)
FORMATS = [
    ("wp-config.php", "wordpress"),
    ("config-blog.acme.example.php", "wordpress"),
    ("laravel.env", "laravel_env"),
    ("symfony.env", "symfony_env"),
    ("settings.php", "drupal"),
    ("configuration.php", "joomla"),
    ("env.php", "magento2"),
    ("config.inc.php", "roundcube"),
    ("debian-db.php", "roundcube"),
]
PHP_READ = {
    "wordpress": {"db_host": ("define", "DB_HOST"), "db_name": ("define", "DB_NAME"),
                  "db_user": ("define", "DB_USER"), "db_password": ("define", "DB_PASSWORD")},
    "joomla": {"db_host": ("prop", "host"), "db_name": ("prop", "db"), "db_user": ("prop", "user"),
               "db_password": ("prop", "password")},
    "drupal": {s: ("assigned", ("databases", ["default", "default", k])) for s, k in
               (("db_host", "host"), ("db_name", "database"), ("db_user", "username"), ("db_password", "password"))},
    "magento2": {s: ("returned", ["db", "connection", "default", k]) for s, k in
                 (("db_host", "host"), ("db_name", "dbname"), ("db_user", "username"),
                  ("db_password", "password"))},
}
ROUNDCUBE_DEBIAN = {"db_host": "dbserver", "db_name": "dbname", "db_user": "dbuser", "db_password": "dbpass"}
LARAVEL = {"db_host": "DB_HOST", "db_name": "DB_DATABASE", "db_user": "DB_USERNAME", "db_password": "DB_PASSWORD"}


def read_back(text: str, kind: str, fixture: str) -> dict[str, str]:
    """The values of the four settings as the file now holds them (each must be one plain literal)."""
    out: dict[str, str] = {}
    if kind == "laravel_env":
        for setting, key in LARAVEL.items():
            vals = [v.value for v in s4_appcfg.env_values(text) if v.key == key]
            assert len(vals) == 1 and vals[0] is not None, key
            out[setting] = vals[0]
        return out
    if kind == "symfony_env":
        url = [v.value for v in s4_appcfg.env_values(text) if v.key == "DATABASE_URL"]
        assert len(url) == 1 and url[0] is not None
        return _url_parts(url[0])
    toks = s4_appcfg.php_tokens(text)
    if kind == "roundcube" and fixture == "config.inc.php":
        (site,) = s4_appcfg.find_assigned(toks, "config", ["db_dsnw"], "dsn")
        tok = site.literal()
        assert tok is not None
        return _url_parts(tok.value)
    for setting in WANTED:
        if kind == "roundcube":
            sites = s4_appcfg.find_assigned(toks, ROUNDCUBE_DEBIAN[setting], [], setting)
        else:
            how, arg = PHP_READ[kind][setting]
            if how == "define":
                sites = s4_appcfg.find_define(toks, arg)[0]
            elif how == "prop":
                sites = s4_appcfg.find_property(toks, arg)
            elif how == "assigned":
                sites = s4_appcfg.find_assigned(toks, arg[0], arg[1], setting)
            else:
                sites = s4_appcfg.find_returned(toks, arg, setting)
        assert len(sites) == 1, setting
        tok = sites[0].literal()
        assert tok is not None, setting
        out[setting] = tok.value
    return out


def _url_parts(url: str) -> dict[str, str]:
    u = urlsplit(url)
    return {"db_host": u.hostname or "", "db_name": unquote(u.path.lstrip("/")), "db_user": unquote(u.username or ""),
            "db_password": unquote(u.password or "")}


def run_module(args: dict, capsys: pytest.CaptureFixture[str]) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        app_db_config.main()
    return json.loads(capsys.readouterr().out)


def changed_lines(before: str, after: str) -> list[str]:
    return [ln for ln in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


# ------------------------------------------------------------------------------------------------- formats

@pytest.mark.parametrize(("fixture", "kind"), FORMATS)
def test_every_format_rewrites_the_four_settings_and_nothing_else(fixture: str, kind: str) -> None:
    text = (FIX / fixture).read_text()
    new, adjusted = adjust_text(text, kind, WANTED)
    assert read_back(new, kind, fixture) == WANTED
    assert all(a["changed"] and a["before_kind"] == "literal" for a in adjusted)
    assert {s for a in adjusted for s in a["settings"]} == set(WANTED)
    # only the lines of the settings changed, as many as there are keys
    diff = changed_lines(text, new)
    assert len([ln for ln in diff if ln.startswith("-")]) == len({a["key"] for a in adjusted}) or \
        len(adjusted) == 1
    assert all(ln.startswith("+") or any(k in ln for k in ("DB_", "host", "database", "dbname", "user", "pass",
                                                           "$db", "db_dsnw", "DATABASE_URL")) for ln in diff), diff
    # idempotent
    again, adjusted2 = adjust_text(new, kind, WANTED)
    assert again == new and not any(a["changed"] for a in adjusted2)


@pytest.mark.parametrize(("fixture", "kind"), FORMATS)
def test_auto_recognises_the_format(fixture: str, kind: str) -> None:
    name = ".env" if fixture.endswith(".env") else fixture
    assert s4_appcfg.detect("/srv/www/x/" + name, (FIX / fixture).read_text()) == kind


def test_omitted_settings_are_left_alone_and_the_unchanged_value_keeps_its_quoting() -> None:
    text = (FIX / "config-blog.acme.example.php").read_text()
    new, adjusted = adjust_text(text, "wordpress", {"db_password": "N3w"})
    assert changed_lines(text, new) == ["-define('DB_PASSWORD', 'Xk3vR9qLm2');", "+define('DB_PASSWORD', 'N3w');"]
    assert adjusted == [{"key": "DB_PASSWORD", "settings": ["db_password"], "before_kind": "literal",
                         "changed": True}]
    same, adjusted = adjust_text(text, "wordpress", {"db_host": "localhost"})
    assert same == text and adjusted[0]["changed"] is False


def test_commented_out_settings_and_lookalikes_in_strings_are_not_touched() -> None:
    text = (FIX / "wp-config.php").read_text()
    new, _ = adjust_text(text, "wordpress", {"db_host": "h2", "db_name": "n2"})
    assert "// define( 'DB_HOST', 'db-commented.example' );" in new
    assert "/* define( 'DB_PASSWORD', 'in-a-block-comment' ); */" in new
    assert "define( 'SECURE_AUTH_KEY',  '3(_eJ6h) define(\\'DB_NAME\\', \\'x\\')' );" in new
    assert "'k#U0b:d)b[w(DB_HOST)8X`;Q'" in new
    env = (FIX / "laravel.env").read_text()
    new_env, _ = adjust_text(env, "laravel_env", {"db_host": "h2"})
    assert "# DB_HOST=commented.example" in new_env and "\nDB_HOST=h2\n" in new_env


def test_dotenv_keeps_comments_and_other_lines() -> None:
    env = (FIX / "laravel.env").read_text()
    new, _ = adjust_text(env, "laravel_env", {"db_password": "plain"})
    assert changed_lines(env, new) == ['-DB_PASSWORD="s3cr3t#with hash" # the shop\'s account',
                                       "+DB_PASSWORD=plain # the shop's account"]


def test_dotenv_adds_a_missing_key() -> None:
    new, adjusted = adjust_text("APP_NAME=x\nDB_HOST=a", "laravel_env", {"db_host": "b", "db_password": "p w"})
    assert new == "APP_NAME=x\nDB_HOST=b\nDB_PASSWORD='p w'\n"
    assert [a["before_kind"] for a in adjusted] == ["literal", "absent"]


def test_url_keeps_port_and_query() -> None:
    new, adjusted = adjust_text((FIX / "symfony.env").read_text(), "symfony_env", {"db_password": "p@ss/w:rd"})
    assert "DATABASE_URL=postgresql://app:p%40ss%2Fw%3Ard@127.0.0.1:5432/app?serverVersion=16&charset=utf8\n" \
        in new or "DATABASE_URL='postgresql://app:p%40ss%2Fw%3Ard@127.0.0.1:5432/app?serverVersion=16&charset=utf8'" \
        in new
    assert adjusted == [{"key": "DATABASE_URL", "settings": ["db_password"], "before_kind": "literal",
                         "changed": True}]
    rc, _ = adjust_text((FIX / "config.inc.php").read_text(), "roundcube", {"db_host": "[::1]"})
    assert "'mysql://roundcube:rc%40pass@[::1]/roundcubemail'" in rc


def test_wordpress_site_url_replaces_or_adds_home_and_siteurl() -> None:
    text = (FIX / "config-blog.acme.example.php").read_text()
    new, adjusted = adjust_text(text, "wordpress", {"site_url": "http://acme-blog.poc.smartt.example"})
    assert new.count("'http://acme-blog.poc.smartt.example'") == 2 and "blog.acme.example'" not in new
    assert [a["key"] for a in adjusted] == ["WP_HOME", "WP_SITEURL"]
    sample = (FIX / "wp-config.php").read_text()
    new, adjusted = adjust_text(sample, "wordpress", {"site_url": "https://x.example"})
    assert [(a["key"], a["before_kind"]) for a in adjusted] == [("WP_HOME", "absent"), ("WP_SITEURL", "absent")]
    # defined right after DB_HOST, i.e. before wp-settings.php is loaded
    assert new.index("define('WP_HOME', 'https://x.example');") < new.index("wp-settings.php")
    assert adjust_text(new, "wordpress", {"site_url": "https://x.example"})[0] == new


def test_joomla_and_laravel_site_url() -> None:
    new, _ = adjust_text((FIX / "configuration.php").read_text(), "joomla", {"site_url": "http://j.poc.example"})
    assert "public $live_site = 'http://j.poc.example';" in new
    new, _ = adjust_text((FIX / "laravel.env").read_text(), "laravel_env", {"site_url": "http://l.poc.example"})
    assert "\nAPP_URL=http://l.poc.example\n" in new


@pytest.mark.parametrize("kind", ["drupal", "magento2", "roundcube", "symfony_env"])
def test_site_url_is_refused_where_the_app_keeps_it_in_its_database(kind: str) -> None:
    fixture = {"drupal": "settings.php", "magento2": "env.php", "roundcube": "config.inc.php",
               "symfony_env": "symfony.env"}[kind]
    with pytest.raises(AppConfigError, match="site_url"):
        adjust_text((FIX / fixture).read_text(), kind, {"site_url": "http://x"})


# ------------------------------------------------------------------------------------------------ escaping

@pytest.mark.parametrize(("fixture", "kind"), [f for f in FORMATS if f[1] != "laravel_env"])
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_inside_their_string(fixture: str, kind: str, value: str) -> None:
    text = (FIX / fixture).read_text()
    wanted = {**WANTED, "db_password": value, "db_user": value, "db_name": value}
    new, _ = adjust_text(text, kind, wanted)
    # the file reads back to exactly the wanted values, and its structure (token kinds) is the one it had
    assert read_back(new, kind, fixture) == wanted
    if kind.endswith("_env"):
        assert len(s4_appcfg.env_values(new)) == len(s4_appcfg.env_values(text))
    else:
        assert [t.kind for t in s4_appcfg.php_tokens(new)] == [t.kind for t in s4_appcfg.php_tokens(text)]
    assert adjust_text(new, kind, wanted)[0] == new


@pytest.mark.parametrize("value", [v for v in HOSTILE if not ("'" in v and "${" in v)])
def test_hostile_values_in_a_laravel_env(value: str) -> None:
    text = (FIX / "laravel.env").read_text()
    wanted = {**WANTED, "db_password": value, "db_user": value}
    new, _ = adjust_text(text, "laravel_env", wanted)
    assert read_back(new, "laravel_env", "laravel.env") == wanted
    assert len(new.splitlines()) == len(text.splitlines())
    assert [v.key for v in s4_appcfg.env_values(new)] == [v.key for v in s4_appcfg.env_values(text)]


@pytest.mark.parametrize(("value", "written"), [
    ("it's", "\"it's\""), ("$x", "'$x'"), ("${APP_KEY}", "'${APP_KEY}'"), ('a"b\\', "'a\"b\\'"),
    ("l1\nl2'", '"l1\\nl2\'"'), ("safe.-_:/@%+9", "safe.-_:/@%+9"),
])
def test_dotenv_quoting(value: str, written: str) -> None:
    assert s4_appcfg.dotenv_quote(value, "laravel", "K") == written


def test_a_value_phpdotenv_cannot_hold_is_refused() -> None:
    """phpdotenv expands ${...} in double quotes and has no escape for it; single quotes cannot hold a '."""
    text = (FIX / "laravel.env").read_text()
    with pytest.raises(AppConfigError, match="cannot be written exactly"):
        adjust_text(text, "laravel_env", {"db_password": "it's ${APP_KEY}"})
    with pytest.raises(AppConfigError, match="cannot be written exactly"):
        s4_appcfg.dotenv_quote("a'b\n", "symfony", "K")


def test_php_quote() -> None:
    assert s4_appcfg.php_quote("a'b\\c") == "'a\\'b\\\\c'"
    assert s4_appcfg.php_quote("?>") == "'?>'"


@pytest.mark.parametrize("host", ["db.example:3306", "a/b", "u@h", "h?x", "", "h h", "[::1"])
def test_url_host_must_be_a_plain_host(host: str) -> None:
    with pytest.raises(AppConfigError, match="db_host"):
        adjust_text((FIX / "symfony.env").read_text(), "symfony_env", {"db_host": host})


def test_nul_is_refused() -> None:
    with pytest.raises(AppConfigError, match="NUL"):
        adjust_text((FIX / "debian-db.php").read_text(), "roundcube", {"db_password": "a\x00b"})


# ------------------------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize(("kind", "text", "key"), [
    ("wordpress", "<?php\ndefine('DB_NAME', 'x');\ndefine('DB_PASSWORD', getenv('WP_DB_PASSWORD'));\n",
     "DB_PASSWORD"),
    ("wordpress", "<?php\ndefine('DB_PASSWORD', 'pre' . $suffix);\n", "DB_PASSWORD"),
    ("wordpress", "<?php\ndefine('DB_PASSWORD', \"pw-$suffix\");\n", "DB_PASSWORD"),
    ("wordpress", "<?php\ndefine('DB_PASSWORD', PW_CONST);\n", "DB_PASSWORD"),
    ("wordpress", "<?php\ndefine('DB_PASSWORD', <<<EOT\nx\nEOT);\n", "DB_PASSWORD"),
    ("wordpress", "<?php\ndefine('DB_PASSWORD', 'a');\nif ($x) { define('DB_PASSWORD', $_ENV['P']); }\n",
     "DB_PASSWORD"),
    ("laravel_env", "DB_PASSWORD=${SECRET_FROM_ENV}\n", "DB_PASSWORD"),
    ("laravel_env", 'DB_PASSWORD="pw-${X}"\n', "DB_PASSWORD"),
    ("laravel_env", "DB_PASSWORD='multi\nline'\n", "DB_PASSWORD"),
    ("symfony_env", "DATABASE_URL=mysql://u:$(cat /secret)@h/db\n", "DATABASE_URL"),
    ("drupal", "<?php\n$databases['default']['default'] = $from_elsewhere;\n", "password"),
    ("drupal", "<?php\n$databases['default']['default'] = array('password' => getenv('P'), 'host' => 'h');\n",
     "password"),
    ("drupal", "<?php\n$databases['default']['default'] = ['host' => 'h'] + $defaults;\n", "password"),
    ("drupal", "<?php\n$databases['default']['default']['password'] .= 'x';\n", "password"),
    ("joomla", "<?php\nclass JConfig {\n\tpublic $password = 'a' . 'b';\n}\n", "password"),
    ("magento2", "<?php\nreturn ['db' => ['connection' => ['default' => ['password' => $_ENV['P']]]]];\n",
     "password"),
    ("magento2", "<?php\nreturn ['db' => ['connection' => $connections]];\n", "password"),
    ("roundcube", (FIX / "debian-config.inc.php").read_text(), "db_dsnw"),
    ("roundcube", "<?php\n$config['db_dsnw'] = 'pgsql://u:' . getenv('P') . '@h/db';\n", "db_dsnw"),
])
def test_computed_settings_are_refused(kind: str, text: str, key: str) -> None:
    with pytest.raises(AppConfigError, match=r"not adjusted: .*is computed") as exc:
        adjust_text(text, kind, {"db_password": "new"})
    assert key in str(exc.value)


@pytest.mark.parametrize(("kind", "text"), [
    ("wordpress", "<?php\ndefine('DB_NAME', 'x');\n"),
    ("joomla", "<?php\nclass JConfig {\n}\n"),
    ("drupal", "<?php\n$databases = [];\n"),
    ("magento2", "<?php\nreturn ['db' => []];\n"),
    ("symfony_env", "APP_ENV=prod\n"),
])
def test_missing_settings_are_refused(kind: str, text: str) -> None:
    with pytest.raises(AppConfigError, match="not found"):
        adjust_text(text, kind, {"db_password": "new"})


def test_unterminated_php_is_refused() -> None:
    with pytest.raises(AppConfigError, match="unterminated"):
        adjust_text("<?php\ndefine('DB_PASSWORD', 'x);\n", "wordpress", {"db_password": "n"})


# --------------------------------------------------------------------------------------------- the module

def _copy(tmp_path: Path, fixture: str, name: str | None = None, mode: int = 0o640) -> Path:
    d = tmp_path / "site"
    d.mkdir(exist_ok=True)
    p = d / (name or fixture)
    p.write_bytes((FIX / fixture).read_bytes())
    p.chmod(mode)
    return p


def test_module_rewrites_keeps_owner_group_mode_and_reports_keys_only(tmp_path, capsys) -> None:
    p = _copy(tmp_path, "env.php", mode=0o640)
    if os.geteuid() == 0:
        os.chown(p, 1234, 2345)
    before = p.stat()
    out = run_module({"path": str(p), "db_password": "Secret-Pw-9", "db_host": "localhost",
                      "db_name": "mage_poc"}, capsys)
    assert out["changed"] is True and out["kind"] == "magento2"
    assert [(a["key"], a["changed"]) for a in out["adjusted"]] == [
        ("db.connection.default.host", False), ("db.connection.default.dbname", True),
        ("db.connection.default.password", True)]
    assert "Secret-Pw-9" not in json.dumps(out) and "M4gento!pw" not in json.dumps(out)
    after = p.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == \
        (before.st_uid, before.st_gid, 0o640)
    assert after.st_ino != before.st_ino  # replaced by rename, not rewritten in place
    assert "'password' => 'Secret-Pw-9'" in p.read_text()
    assert sorted(x.name for x in p.parent.iterdir()) == ["env.php"]  # no temporary file left
    again = run_module({"path": str(p), "db_password": "Secret-Pw-9", "db_host": "localhost",
                        "db_name": "mage_poc"}, capsys)
    assert again["changed"] is False and not any(a["changed"] for a in again["adjusted"])
    assert p.stat().st_ino == after.st_ino


def test_module_check_mode_and_diff_redact_secrets(tmp_path, capsys) -> None:
    p = _copy(tmp_path, "wp-config.php")
    original = p.read_bytes()
    out = run_module({"path": str(p), "kind": "auto", "db_password": "NewSecret99", "db_host": "db2",
                      "site_url": "http://p.example", "_ansible_check_mode": True, "_ansible_diff": True}, capsys)
    assert out["changed"] is True and p.read_bytes() == original
    diff = out["diff"]
    assert diff["before"] == "DB_HOST: localhost\nDB_PASSWORD: <redacted>\n"
    assert diff["after"] == ("DB_HOST: db2\nDB_PASSWORD: <redacted>\nWP_HOME: http://p.example\n"
                             "WP_SITEURL: http://p.example\n")
    text = json.dumps(out)
    assert "NewSecret99" not in text and "old-Pa55" not in text


def test_module_diff_redacts_urls(tmp_path, capsys) -> None:
    p = _copy(tmp_path, "symfony.env", name=".env")
    out = run_module({"path": str(p), "db_host": "db2", "_ansible_diff": True}, capsys)
    assert out["diff"]["before"] == out["diff"]["after"] == "DATABASE_URL: <redacted>\n"
    assert "ChangeMe" not in json.dumps(out)


def test_module_refusal_changes_nothing(tmp_path, capsys) -> None:
    p = _copy(tmp_path, "debian-config.inc.php", name="config.inc.php")
    original = p.read_bytes()
    out = run_module({"path": str(p), "kind": "roundcube", "db_password": "x"}, capsys)
    assert out["failed"] is True and out["changed"] is False
    assert out["msg"] == "not adjusted: $config['db_dsnw'] is computed"
    assert p.read_bytes() == original


def test_module_refuses_a_symlink(tmp_path, capsys) -> None:
    target = _copy(tmp_path, "debian-db.php", name="real.php")
    link = target.parent / "debian-db.php"
    link.symlink_to(target)
    out = run_module({"path": str(link), "kind": "roundcube", "db_password": "x"}, capsys)
    assert out["failed"] is True and "symlink" in out["msg"]
    assert target.read_bytes() == (FIX / "debian-db.php").read_bytes()


def test_module_refuses_a_symlinked_directory_on_the_way(tmp_path, capsys) -> None:
    target = _copy(tmp_path, "debian-db.php")
    (tmp_path / "linkdir").symlink_to(target.parent)
    out = run_module({"path": str(tmp_path / "linkdir" / "debian-db.php"), "db_password": "x"}, capsys)
    assert out["failed"] is True and "symlink" in out["msg"]
    assert target.read_bytes() == (FIX / "debian-db.php").read_bytes()


def test_module_refuses_what_is_not_a_regular_file(tmp_path, capsys) -> None:
    fifo = tmp_path / "settings.php"
    os.mkfifo(fifo)
    out = run_module({"path": str(fifo), "kind": "drupal", "db_password": "pw-not-in-msg"}, capsys)
    assert out["failed"] is True and "regular file" in out["msg"]
    missing = run_module({"path": str(tmp_path / "nope.php"), "kind": "drupal", "db_password": "pw-not-in-msg"},
                         capsys)
    assert missing["failed"] is True and "does not exist" in missing["msg"]


def test_module_unrecognised_kind(tmp_path, capsys) -> None:
    p = tmp_path / "index.php"
    p.write_text("<?php echo 'hello';\n")
    out = run_module({"path": str(p), "db_password": "x"}, capsys)
    assert out["failed"] is True and "could not be recognised" in out["msg"]


def test_module_keeps_bytes_that_are_not_utf8(tmp_path, capsys) -> None:
    p = tmp_path / "configuration.php"
    p.write_bytes((FIX / "configuration.php").read_bytes().replace(b"Hooli Community", b"Hooli \xe9t\xe9"))
    out = run_module({"path": str(p), "db_password": "n"}, capsys)
    assert out["changed"] is True and b"Hooli \xe9t\xe9" in p.read_bytes()


# ------------------------------------------------------------------------------------------------ target side

@pytest.mark.parametrize("path", [ROOT / "s4_plugins" / "module_utils" / "s4_appcfg.py",
                                  ROOT / "s4_plugins" / "modules" / "app_db_config.py"], ids=lambda p: p.name)
def test_python36_grammar_and_stdlib_only(path: Path) -> None:
    tree = ast.parse(path.read_text(), feature_version=(3, 6))
    for node in ast.walk(tree):
        mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        for m in mods:
            assert m.split(".")[0] in sys.stdlib_module_names or m.startswith(
                ("ansible.module_utils", "ansible_collections.smartt.s4.plugins.module_utils")), m


def _py36() -> str | None:
    for cand in ("python3.6", str(Path.home() / ".pyenv" / "versions" / "3.6.15" / "bin" / "python3.6")):
        p = shutil.which(cand) or (cand if Path(cand).exists() else None)
        if p and subprocess.run([p, "-c", "import sys; assert sys.version_info[:2] == (3, 6)"],
                                capture_output=True).returncode == 0:
            return p
    return None


@pytest.mark.skipif(_py36() is None, reason="no Python 3.6 interpreter on this machine")
def test_adjusts_on_python36(tmp_path: Path) -> None:
    p = _copy(tmp_path, "settings.php")
    code = ("import sys, json; sys.path.insert(0, {!r})\n"
            "from ansible_collections.smartt.s4.plugins.module_utils import s4_appcfg\n"
            "r = s4_appcfg.run({!r}, 'auto', {{'db_password': \"it's\", 'db_host': 'h2'}})\n"
            "print(json.dumps(r))\n").format(str(ROOT / ".collections"), str(p))
    out = subprocess.run([str(_py36()), "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["changed"] is True
    assert read_back(p.read_text(), "drupal", "settings.php")["db_password"] == "it's"


def test_documentation_parses_and_matches_the_argument_spec() -> None:
    import yaml

    doc = yaml.safe_load(app_db_config.DOCUMENTATION)
    assert yaml.safe_load(app_db_config.EXAMPLES) and yaml.safe_load(app_db_config.RETURN)["adjusted"]
    assert set(doc["options"]) == {"path", "kind", "db_host", "db_name", "db_user", "db_password", "site_url"}
    assert doc["options"]["kind"]["choices"] == ["auto", *s4_appcfg.KINDS]
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert "no_log=True" in Path(app_db_config.__file__).read_text().replace(" ", "")


def test_laravel_database_url_is_adjusted_with_the_db_keys() -> None:
    text = "DB_CONNECTION=pgsql\nDB_URL=pgsql://shop:old@10.0.0.5:5432/shop\nDB_HOST=10.0.0.5\nDB_PASSWORD=old\n"
    new, adjusted = adjust_text(text, "laravel_env", {"db_host": "127.0.0.1", "db_password": "n'w"})
    assert new == ("DB_CONNECTION=pgsql\nDB_URL=pgsql://shop:n%27w@127.0.0.1:5432/shop\nDB_HOST=127.0.0.1\n"
                   "DB_PASSWORD=\"n'w\"\n")
    assert [a["key"] for a in adjusted] == ["DB_HOST", "DB_PASSWORD", "DB_URL"]
    # an empty DB_URL (Laravel's default .env) is left alone
    assert adjust_text("DB_URL=\nDB_HOST=a\n", "laravel_env", {"db_host": "b"})[0] == "DB_URL=\nDB_HOST=b\n"


def test_roundcube_before_1_0_dsn() -> None:
    text = "<?php\n$rcmail_config = array();\n$rcmail_config['db_dsnw'] = 'mysql://rc:old@localhost/rc';\n"
    new, adjusted = adjust_text(text, "roundcube", {"db_password": "n w"})
    assert "$rcmail_config['db_dsnw'] = 'mysql://rc:n%20w@localhost/rc';" in new
    assert adjusted[0]["key"] == "$rcmail_config['db_dsnw']"
    assert s4_appcfg.describe(new, "roundcube", adjusted, True) == "$rcmail_config['db_dsnw']: <redacted>\n"


_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=150, deadline=None)
@given(value=_ANY_TEXT, fixture_kind=st.sampled_from([f for f in FORMATS if f[1] != "laravel_env"]))
def test_any_value_reads_back_exactly(value: str, fixture_kind: tuple[str, str]) -> None:
    fixture, kind = fixture_kind
    text = (FIX / fixture).read_text()
    wanted = {**WANTED, "db_password": value, "db_user": value}
    try:
        new, _ = adjust_text(text, kind, wanted)
    except AppConfigError as exc:  # only a dotenv value Symfony cannot hold exactly may be refused
        assert kind == "symfony_env" and "cannot be written exactly" in str(exc)
        return
    assert read_back(new, kind, fixture) == wanted
    if not kind.endswith("_env"):
        assert [t.kind for t in s4_appcfg.php_tokens(new)] == [t.kind for t in s4_appcfg.php_tokens(text)]


@settings(max_examples=150, deadline=None)
@given(value=_ANY_TEXT)
def test_any_laravel_value_reads_back_exactly_or_is_refused(value: str) -> None:
    text = (FIX / "laravel.env").read_text()
    try:
        new, _ = adjust_text(text, "laravel_env", {"db_password": value})
    except AppConfigError:
        assert "'" in value or "\n" in value or "\r" in value
        assert re.search(r"\$[A-Za-z_{(]", value)
        return
    assert [v.value for v in s4_appcfg.env_values(new) if v.key == "DB_PASSWORD"] == [value]
    assert [v.key for v in s4_appcfg.env_values(new)] == [v.key for v in s4_appcfg.env_values(text)]


def test_backtick_strings_do_not_hide_or_fake_a_setting() -> None:
    text = "<?php\n$out = `echo 'define(\"DB_PASSWORD\", \"fake\")'`;\ndefine('DB_PASSWORD', 'real');\n"
    new, adjusted = adjust_text(text, "wordpress", {"db_password": "n"})
    assert new == text.replace("'real'", "'n'") and adjusted[0]["changed"] is True
    with pytest.raises(AppConfigError, match="is computed"):
        adjust_text("<?php\ndefine('DB_PASSWORD', `cat /secret`);\n", "wordpress", {"db_password": "n"})
