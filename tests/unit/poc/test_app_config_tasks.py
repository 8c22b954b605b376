"""playbooks/tasks/poc_app_config.yml on this machine (local connection, no lab): the packaged WordPress and
roundcube configs go through smartt.s4.app_db_config, other sites keep the credential regex, a computed setting
stops the run with the key's name and no value, and a rerun changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FIX = Path(__file__).parent / "fixtures" / "appcfg"
WP_PW = "GenWpPassw0rd24charsXyZ1"  # noqa: S105 - test values
RC_PW = "GenRcPassw0rd24charsXyZ2"  # noqa: S105
WWW_PW = "GenWwwPassw0rd24charsXy3"  # noqa: S105

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the preview config is written root:www-data")


def _site(name, app, config, docroot, preview_config=None, aliases=()):
    return {"name": name, "app": app, "config": config, "docroot": docroot, "db": {"engine": "mariadb"},
            "preview": f"{name}.poc.smartt.example", "preview_config": preview_config,
            "alias_configs": list(aliases)}


def _setup(tmp_path: Path, wp_fixture: str = "config-blog.acme.example.php") -> tuple[Path, dict]:
    etc = tmp_path / "etc"
    (etc / "wordpress").mkdir(parents=True)
    (etc / "roundcube").mkdir()
    wp = etc / "wordpress" / "config-blog.acme.example.php"
    wp.write_bytes((FIX / wp_fixture).read_bytes())
    rc = etc / "roundcube" / "debian-db.php"
    rc.write_bytes((FIX / "debian-db.php").read_bytes())
    www = tmp_path / "srv" / "www" / "globex"
    www.mkdir(parents=True)
    (www / "db.php").write_text("<?php\n$db = new PDO('pgsql:host=127.0.0.1;dbname=crm', 'globex_crm', 'oldpw');\n")
    (www / "index.php").write_text("<?php require 'db.php';\n")
    sites = [
        _site("acme-blog", "wordpress", str(wp), "/usr/share/wordpress",
              preview_config=str(etc / "wordpress" / "config-acme-blog.poc.smartt.example.php"),
              aliases=[str(etc / "wordpress" / "config-www.blog.acme.example.php")]),
        _site("globex-webmail", "roundcube", str(rc), "/var/lib/roundcube/public_html"),
        _site("globex-www", None, None, str(www)),
    ]
    stack = {"site_users": {"acme-blog": "acme_wp", "globex-webmail": "globex_rc", "globex-www": "globex_crm"},
             "credential_regexes": {
                 "acme-blog": r"(define\(\s*'DB_PASSWORD'\s*,\s*')[^']*(')",
                 "globex-webmail": r"(\$dbpass\s*=\s*')[^']*(')",
                 "globex-www": r"((?:['\"])globex_crm['\"]\s*,\s*['\"])[^'\"]*(['\"])"}}
    pws = {"acme_wp": WP_PW, "globex_rc": RC_PW, "globex_crm": WWW_PW}
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars": {"__s4_poc_sites": sites, "__s4_poc_stack": stack, "__s4_poc_passwords": pws},
             "tasks": [
                 {"name": "Adjust every site", "ansible.builtin.include_tasks": str(ROOT / "playbooks" / "tasks" /
                                                                                     "poc_app_config.yml"),
                  "loop": "{{ __s4_poc_sites }}", "loop_control": {"loop_var": "__s4_poc_site"}},
                 {"name": "Show what was recorded", "ansible.builtin.copy": {
                     "dest": str(tmp_path / "recorded.json"), "mode": "0600",
                     "content": "{{ {'rewritten': __s4_poc_rewritten, 'adjusted': __s4_poc_app_adjusted} "
                                "| to_json }}"}, "changed_when": False},
             ]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    return tmp_path, {"wp": wp, "rc": rc, "www": www / "db.php"}


def _play(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=f"{BIN}:{os.environ.get('PATH', '')}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_DISPLAY_ARGS_TO_STDOUT="1")
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "-v",
                           str(tmp_path / "play.yml")], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)


def _recap(out: str) -> dict[str, int]:
    line = next(ln for ln in out.splitlines() if ln.startswith("localhost") and "changed=" in ln)
    return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}


def test_known_apps_use_the_module_others_the_regex_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    tmp, files = _setup(tmp_path)
    first = _play(tmp)
    assert first.returncode == 0, first.stdout[-4000:]
    assert f"define('DB_PASSWORD', '{WP_PW}');" in files["wp"].read_text()
    assert f"$dbpass='{RC_PW}';" in files["rc"].read_text()
    assert f"'globex_crm', '{WWW_PW}'" in files["www"].read_text()
    # the module rewrote the WordPress config: only the password line differs from the source's
    src = (FIX / "config-blog.acme.example.php").read_text().splitlines()
    assert [a for a, b in zip(src, files["wp"].read_text().splitlines(), strict=True) if a != b] == \
        ["define('DB_PASSWORD', 'Xk3vR9qLm2');"]
    recorded = json.loads((tmp / "recorded.json").read_text())
    assert recorded["rewritten"] == sorted([str(files["wp"]), str(files["rc"]), str(files["www"])])
    assert [(a["site"], a["kind"], [(x["key"], x["changed"]) for x in a["adjusted"]])
            for a in recorded["adjusted"]] == [("acme-blog", "wordpress", [("DB_PASSWORD", True)]),
                                              ("globex-webmail", "roundcube", [("$dbpass", True)])]
    assert (tmp / "etc" / "wordpress" / "config-acme-blog.poc.smartt.example.php").exists()
    for pw in (WP_PW, RC_PW, WWW_PW, "Xk3vR9qLm2", "rcPw0rd13"):
        assert pw not in first.stdout and pw not in first.stderr
    again = _play(tmp)
    assert again.returncode == 0, again.stdout[-4000:]
    assert _recap(again.stdout)["changed"] == 0, again.stdout[-4000:]


def test_a_computed_setting_stops_the_run_naming_the_key_only(tmp_path: Path) -> None:
    tmp, files = _setup(tmp_path)
    computed = "<?php\ndefine('DB_NAME', 'acme_wp');\ndefine('DB_PASSWORD', getenv('ACME_DB_PASSWORD'));\n"
    files["wp"].write_text(computed)
    out = _play(tmp)
    assert out.returncode != 0
    assert f"acme-blog: {files['wp']} not adjusted: DB_PASSWORD is computed" in out.stdout
    assert files["wp"].read_text() == computed
    assert WP_PW not in out.stdout and WP_PW not in out.stderr
