"""Target-side code (software_facts + its module_utils) must parse as Python 3.6 and use the stdlib only."""

from __future__ import annotations

import ast
import glob
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted(glob.glob(str(ROOT / "s4_plugins" / "module_utils" / "s4_discovery*.py"))) + [
    str(ROOT / "s4_plugins" / "modules" / "software_facts.py")]
STDLIB = set(sys.stdlib_module_names)


@pytest.mark.parametrize("path", FILES, ids=lambda p: Path(p).name)
def test_python36_grammar_and_stdlib_only(path):
    src = Path(path).read_text()
    tree = ast.parse(src, feature_version=(3, 6))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            assert "annotations" not in {a.name for a in node.names}, "PEP 563 needs Python 3.7"
        mods = []
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods = [node.module]
        for m in mods:
            top = m.split(".")[0]
            assert top in STDLIB or m.startswith(("ansible.module_utils", "ansible_collections.smartt.s4.plugins."
                                                                          "module_utils")), m


def _py36():
    for cand in ("python3.6", str(Path.home() / ".pyenv" / "versions" / "3.6.15" / "bin" / "python3.6")):
        p = shutil.which(cand) or (cand if Path(cand).exists() else None)
        if p and subprocess.run([p, "-c", "import sys; assert sys.version_info[:2] == (3, 6)"],
                                capture_output=True).returncode == 0:
            return p
    return None


@pytest.mark.skipif(_py36() is None, reason="no Python 3.6 interpreter on this machine")
def test_gathering_runs_on_python36(fixtures):
    code = ("import sys, json; sys.path.insert(0, {!r})\n"
            "from ansible_collections.smartt.s4.plugins.module_utils import s4_discovery\n"
            "f = s4_discovery.gather({{'include_packages': False, 'binary_search_paths': [],"
            " 'sites': [{{'name': 'x', 'docroot': {!r}}}]}})\n"
            "print(json.dumps(f['sites'][0]['apps']))\n").format(str(ROOT / ".collections"),
                                                              str(fixtures / "apps" / "wordpress"))
    out = subprocess.run([_py36(), "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '"version": "5.7.14"' in out.stdout
