"""Issue #13 finding 12: release publish with rsync --delete never deletes what the release watch did not write.

playbooks/release_watch.yml's publish play, run for real with a local connection against a temporary docroot
(no lab): a publish directory pointed at another site's docroot (or holding anybody's files) is refused before
rsync, nothing changed; a directory of its own (empty, the lab's placeholder index, or previously published) is
published, stale notice pages of its own removed, a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "releasewatch"))
from rwfixtures import AS_OF, CMDB_YAML, FACTS, catalog_products, write_catalog  # noqa: E402

from s4.history import History  # noqa: E402
from s4.releasewatch.site import MANIFEST_FILE  # noqa: E402

PLAYBOOK = str(ROOT / "playbooks" / "release_watch.yml")
pytestmark = pytest.mark.slow


@pytest.fixture()
def env(tmp_path: Path):
    history = tmp_path / "history.sqlite"
    with History(history) as h:
        h.record_run({n: {"status": "ok", "facts": f} for n, f in FACTS.items()},
                     started_at=f"{AS_OF.isoformat()}T08:00:00Z")
    catalog = write_catalog(tmp_path / "catalog", catalog_products())
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "cmdb.yml").write_text(CMDB_YAML)
    e = dict(os.environ)
    e.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / "facts"),
             ANSIBLE_LOCAL_TEMP=str(tmp_path / "atmp"), ANSIBLE_NOCOLOR="1",
             PATH=f"{Path(sys.executable).parent}:{e.get('PATH', '')}")
    docroot = tmp_path / "docroot"
    # the publish host of the CMDB, reached with a local connection: synchronize then rsyncs into tmp_path
    args = ["-i", str(inv), PLAYBOOK, "-e", f"s4_as_of={AS_OF.isoformat()}", "-e", f"s4_state_url={history}",
            "-e", f"s4_release_watch_dir={tmp_path / 'out'}",
            "-e", f"s4_release_watch_catalog_dir={catalog}", "-e", "s4_release_watch_publish_host=internal-01",
            "-e", f"s4_release_watch_publish_dir={docroot}", "-e", "ansible_connection=local",
            "-e", f"ansible_python_interpreter={sys.executable}"]
    return e, args, docroot


def play(env, *extra: str) -> subprocess.CompletedProcess[str]:
    e, args, _ = env
    return subprocess.run(["ansible-playbook", *args, *extra], cwd=ROOT, env=e, capture_output=True, text=True,
                          timeout=300)


def changed(out: str, host: str) -> int:
    line = next(ln for ln in out.splitlines() if ln.startswith(host))
    return int(line.split("changed=")[1].split()[0])


def test_publish_into_another_sites_docroot_is_refused_and_deletes_nothing(env) -> None:
    _, _, docroot = env
    (docroot / "wp-content" / "uploads").mkdir(parents=True)
    (docroot / "wp-config.php").write_text("<?php // another site\n")
    (docroot / "wp-content" / "uploads" / "photo.jpg").write_bytes(b"\xff\xd8 client data")
    (docroot / ".htaccess").write_text("Deny from all\n")
    before = sorted(str(p.relative_to(docroot)) for p in docroot.rglob("*"))
    proc = play(env)
    assert proc.returncode != 0
    assert "holds 5 entries the release watch did not write" in proc.stdout
    assert ".htaccess, wp-config.php, wp-content, wp-content/uploads, wp-content/uploads/photo.jpg" in proc.stdout
    assert "nothing was changed" in proc.stdout
    assert sorted(str(p.relative_to(docroot)) for p in docroot.rglob("*")) == before
    assert not (docroot / "index.html").exists()


def test_forged_file_slipped_into_a_published_docroot_is_not_silently_deleted(env) -> None:
    _, _, docroot = env
    first = play(env)
    assert first.returncode == 0, first.stdout[-3000:]
    published = json.loads((docroot / MANIFEST_FILE).read_text())["entries"]
    assert "index.html" in published and "notices" in published
    (docroot / "someone-elses.html").write_text("not ours")
    again = play(env)
    assert again.returncode != 0 and "someone-elses.html" in again.stdout
    assert (docroot / "someone-elses.html").read_text() == "not ours"


def test_own_docroot_is_published_stale_own_pages_removed_and_rerun_changes_nothing(env) -> None:
    _, _, docroot = env
    docroot.mkdir()
    (docroot / "index.html").write_text("<p>No notice published yet.</p>")   # the lab's placeholder: replaced
    first = play(env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert changed(first.stdout, "internal-01") == 1
    assert "Smartt" in (docroot / "index.html").read_text() and (docroot / "feed.atom").is_file()
    # a notice page the release watch published earlier and no longer lists is its own: removed by --delete
    (docroot / "notices" / "old-1.0.html").write_text("old")
    manifest = json.loads((docroot / MANIFEST_FILE).read_text())
    manifest["entries"].append("notices/old-1.0.html")
    (docroot / MANIFEST_FILE).write_text(json.dumps(manifest))
    second = play(env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert not (docroot / "notices" / "old-1.0.html").exists()
    third = play(env)
    assert third.returncode == 0 and changed(third.stdout, "internal-01") == 0
    assert changed(third.stdout, "localhost") == 0
