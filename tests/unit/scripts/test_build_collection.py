import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_collection_tarball_holds_plugins_and_roles_as_real_files(tmp_path):
    subprocess.run([str(ROOT / "scripts" / "build_collection"), str(tmp_path)], check=True, capture_output=True)
    tarballs = list(tmp_path.glob("smartt-s4-*.tar.gz"))
    assert len(tarballs) == 1
    with tarfile.open(tarballs[0]) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert "MANIFEST.json" in members and "meta/runtime.yml" in members
    plugin_files = [n for n, m in members.items() if n.startswith("plugins/") and m.isfile()]
    assert plugin_files, "the tarball carries no plugin files"
    assert not any(m.issym() for m in members.values()), "symlinks would be dropped or dangle in the collection"
    # every source plugin file made it into the tarball
    for src in (ROOT / "s4_plugins").rglob("*.py"):
        if "__pycache__" in src.parts:
            continue
        assert "plugins/" + str(src.relative_to(ROOT / "s4_plugins")) in members
