"""Issue #13 finding 5 (target side): the follow-up copy of dangling link targets fetches only targets inside the
copied data roots (roles/s4_data_migrate/files/s4_link_targets.py, run on the POC). A tenant's link to another
tenant's file or to a system file is reported, never copied."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROLE = Path(__file__).resolve().parents[2] / "roles" / "s4_data_migrate"
HELPER = ROLE / "files" / "s4_link_targets.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("s4_link_targets", HELPER)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


links = _load()


def test_link_to_other_tenants_env_is_not_fetched() -> None:
    r = links.classify([("/srv/www/acme/site/x", "../../other-tenant/.env")], ["/srv/www/acme/site"])
    assert r["copy"] == []
    assert r["refused"][0]["target"] == "/srv/www/other-tenant/.env"
    assert "outside the allowed roots" in r["refused"][0]["reason"]


def test_absolute_link_to_system_file_is_not_fetched() -> None:
    r = links.classify([("/var/lib/wordpress/wp-content/k", "/etc/shadow"),
                        ("/var/lib/wordpress/wp-content/r", "/root/.ssh/id_ed25519")], ["/var/lib/wordpress"])
    assert r["copy"] == [] and [x["target"] for x in r["refused"]] == ["/etc/shadow", "/root/.ssh/id_ed25519"]


def test_link_climbing_out_with_dotdot_through_a_root_prefix_is_not_fetched() -> None:
    # /srv/www/site-other shares the prefix "/srv/www/site" but is not below it
    r = links.classify([("/srv/www/site/a/b", "../../../www/site-other/wp-config.php")], ["/srv/www/site"])
    assert r["copy"] == [] and r["refused"][0]["target"] == "/srv/www/site-other/wp-config.php"


def test_link_target_inside_the_copied_roots_is_fetched() -> None:
    r = links.classify([("/srv/www/site/theme", "../shared/theme"), ("/srv/www/site/t2", "/srv/www/shared/theme")],
                       ["/srv/www/site", "/srv/www/shared/"])
    assert r == {"copy": ["/srv/www/shared/theme"], "refused": []}


def test_planted_dangling_links_on_disk_are_classified(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "env").symlink_to("../../globex/.env")  # dangling here: globex is not copied
    (root / "ok").symlink_to("sub")  # resolves: not dangling
    (root / "gone").symlink_to("missing.txt")  # dangling, inside the root
    out = subprocess.run([sys.executable, str(HELPER), str(root)], capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    assert r["copy"] == [str(root / "missing.txt")]
    assert [x["target"] for x in r["refused"]] == [str(tmp_path / "globex" / ".env")]


def test_package_dir_named_with_also_allows_its_targets_but_not_escapes(tmp_path: Path) -> None:
    root = tmp_path / "wp-content"
    (root / "themes").mkdir(parents=True)
    (root / "themes" / "t21").symlink_to("/usr/share/wordpress/wp-content/themes/t21-missing")
    (root / "themes" / "esc").symlink_to("/usr/share/wordpress/wp-content/themes/../../../../../etc/shadow")
    out = subprocess.run([sys.executable, str(HELPER), "--also=/usr/share/wordpress/wp-content/themes", str(root)],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    assert r["copy"] == ["/usr/share/wordpress/wp-content/themes/t21-missing"]
    assert [x["target"] for x in r["refused"]] == ["/etc/shadow"]


def test_link_target_copy_is_off_by_default() -> None:
    import yaml

    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["s4_data_migrate_copy_link_targets"] is False
