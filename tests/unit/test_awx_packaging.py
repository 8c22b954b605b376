"""The AWX packaging steps of docs/AWX.md, checked as far as this machine allows (issue #16 point 6).

* scripts/build_ee builds the smartt.s4 collection (scripts/build_collection), the s4 wheel and the
  ``ansible-builder create`` context: the context holds the collection, the s4 package (with the state store's
  migrations), the bindep file and the Python requirements of the state store;
* the built collection installs into an empty collections directory and runs by FQCN from a clean directory (no
  ansible.cfg, no checkout on the path, the s4 package from the wheel): its CMDB inventory plugin (AWX's inventory
  source), a controller-side module (smartt.s4.poc_record against a SQLite store) and ansible-doc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1].parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (BIN / "ansible-builder").exists():
        pytest.fail("ansible-builder is not installed (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("ee-build")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    p = subprocess.run([str(ROOT / "scripts" / "build_ee"), str(out)], capture_output=True, text=True, env=env,
                       timeout=900)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    return out


def test_ee_context_holds_the_collection_the_s4_package_and_bindep(built: Path) -> None:
    ctx = built / "ee"
    tarballs = list((ctx / "_build" / "s4").glob("smartt-s4-*.tar.gz"))
    wheels = list((ctx / "_build" / "s4").glob("s4_toolkit-*.whl"))
    assert len(tarballs) == 1 and len(wheels) == 1
    with tarfile.open(tarballs[0]) as t:
        members = set(t.getnames())
    assert {"plugins/inventory/cmdb.py", "plugins/action/poc_record.py", "plugins/modules/poc_record.py",
            "roles/s4_data_migrate/tasks/main.yml", "MANIFEST.json"} <= members
    with zipfile.ZipFile(wheels[0]) as z:
        names = set(z.namelist())
    assert {"s4/cli.py", "s4/state/store.py", "s4/state/migrations/env.py"} <= names
    assert any(n.startswith("s4/state/migrations/versions/") and n.endswith(".py") for n in names)
    assert any(n.startswith("s4/data/catalog/") for n in names)
    bindep = (ctx / "_build" / "bindep.txt").read_text()
    assert "rsync" in bindep and "sqlite3 [platform:dpkg]" in bindep and "openssh-client [platform:dpkg]" in bindep
    reqs = (ctx / "_build" / "requirements.txt").read_text().lower()
    assert all(r in reqs for r in ("sqlalchemy", "alembic", "psycopg", "proxmoxer"))
    galaxy = (ctx / "_build" / "requirements.yml").read_text()
    assert "community.general" in galaxy and "ansible.posix" in galaxy
    containerfile = (ctx / "Containerfile").read_text()
    assert "COPY _build/s4/ /tmp/s4-build/" in containerfile
    assert "pip install --no-cache-dir /tmp/s4-build/s4_toolkit-*.whl" in containerfile
    assert "ansible-galaxy collection install --collections-path /usr/share/ansible/collections" in containerfile


def test_collection_installs_and_runs_by_fqcn_from_a_clean_dir(built: Path, tmp_path: Path) -> None:
    tarball = next(built.glob("smartt-s4-*.tar.gz"))
    collections = tmp_path / "collections"
    site = tmp_path / "site"
    clean = tmp_path / "clean"
    clean.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "S4_")) and k != "PYTHONPATH"}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", HOME=str(tmp_path), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_LOCAL_TEMP=str(tmp_path / "atmp"),
               PYTHONPATH=str(site))  # the s4 package from the wheel only, as in the EE

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(list(cmd), cwd=clean, capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, f"{cmd}: {(p.stdout + p.stderr)[-3000:]}"
        return p

    run(str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections), str(tarball))
    assert (collections / "ansible_collections" / "smartt" / "s4" / "MANIFEST.json").is_file()
    run(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
        str(next((built / "dist").glob("s4_toolkit-*.whl"))))
    probe = run(sys.executable, "-c", "import s4, s4.state; print(s4.__file__)")
    assert probe.stdout.strip().startswith(str(site)), probe.stdout  # not the checkout

    # the inventory source AWX uses: the CMDB plugin from the installed collection
    (clean / "cmdb.yml").write_text((ROOT / "inventories" / "example" / "cmdb.yml").read_text())
    inv = run(str(BIN / "ansible-inventory"), "-i", "cmdb.yml", "--list")
    groups = json.loads(inv.stdout)
    assert len(groups["s4_in_scope"]["hosts"]) >= 10 and "s4_out_of_scope" in groups

    # a controller-side module by FQCN, against a SQLite state store outside the clean dir
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    (clean / "play.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - smartt.s4.poc_record: {name: poc-acme-acme-blog-93572f25, state: step, step: provision,"
        " client: acme, vmid: 101, source_host: mvps-acme-01, site: acme-blog, profile: debian13,"
        f" state_url: '{url}'}}\n"
        f"    - smartt.s4.poc_record: {{name: poc-acme-acme-blog-93572f25, state_url: '{url}'}}\n"
        "      register: r\n"
        "    - ansible.builtin.assert: {that: [r.exists, \"r.record.status == 'provisioned'\", \"r.site == 'acme-blog'\"]}\n")
    run(str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "play.yml")
    assert not list(clean.glob(".cache*")) and not (clean / "state.sqlite").exists()
    doc = run(str(BIN / "ansible-doc"), "smartt.s4.poc_record")
    assert "state store" in doc.stdout
