"""Issue #16: no playbook, role or plugin keeps state relative to playbook_dir / the current directory.

Under AWX every job runs in a fresh private_data_dir with a fresh project copy: whatever a playbook writes next to
itself and reads back in a later job is lost. State goes through the state store only (``state_url`` /
``s4_state_url`` / ``S4_STATE_URL``, whose default is the checkout's ``.cache/s4/state.sqlite``, chosen in
``s4/state/store.py``); POC secrets live on the POC VM. This test greps the sources the playbooks run - playbooks
(+ tasks, vars, templates), roles and the collection's plugins - and fails naming the file and line of:

* a path under ``.cache`` (the old history/release-watch/POC state), or a SQLite file name, outside documentation;
* ``playbook_dir`` used for anything but report output (``reports/``, published by the playbooks), the ad-hoc POC
  inventory entry cleanup under ``inventories/`` and the ``inventory_dir`` fallback of the implicit localhost;
* a password lookup that stores its file on the controller (only ``/dev/null``: generated, never kept);
* the current directory in controller code (``os.getcwd``, ``Path.cwd``, relative ``open``).

Each rule is checked against a planted line too, so a rule that can no longer match fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
YAML_DIRS = [ROOT / "playbooks", ROOT / "roles"]
PY_DIRS = [ROOT / "s4_plugins"]

# (name, pattern, allowed-line pattern or None)
YAML_RULES: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = [
    ("a path under .cache (state belongs in the state store)", re.compile(r"\.cache\b"), None),
    ("a SQLite state file", re.compile(r"\.sqlite\b|sqlite:///"), None),
    ("playbook_dir used for something else than report output or the POC's ad-hoc inventory entry",
     re.compile(r"\bplaybook_dir\b|__s4_poc_root\b"),
     re.compile(r"/reports/"
                r"|ansible_inventory_sources \| default\(\[playbook_dir\]\)"
                r"|^\s*__s4_poc_root: \"\{\{ playbook_dir \| dirname \}\}\"\s*$"
                r"|paths: \"\{\{ __s4_poc_root \}\}/inventories\"")),
    ("a password lookup keeping its file on the controller",
     re.compile(r"lookup\(\s*'(?:ansible\.builtin\.)?password'"),
     re.compile(r"lookup\(\s*'(?:ansible\.builtin\.)?password',\s*'/dev/null ")),
]

PY_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("the current directory", re.compile(r"os\.getcwd\(|Path\.cwd\(|Path\(\s*['\"]\.?['\"]\s*\)")),
    # the playbook's directory name may label a run (os.path.basename); it is never a base path for files
    ("playbook_dir as a base path", re.compile(r"^(?!.*basename\().*\bplaybook_dir\b")),
]
# a string literal (outside documentation) that is a path under .cache or a SQLite file: no spaces, so a message
# that names the old file ("an old history.sqlite next to the store is imported") is not one
PATH_LITERAL = re.compile(r"^[\w./~{}-]*(?:\.cache/|\.sqlite3?$)")


def _yaml_lines(path: Path) -> list[tuple[int, str]]:
    """Non-comment lines (a trailing '# ...' comment is cut)."""
    out = []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        out.append((no, re.sub(r"\s+#\s.*$", "", line)))
    return out


def _doc_lines(tree: ast.AST) -> set[int]:
    """Lines of documentation strings: DOCUMENTATION/EXAMPLES/RETURN and docstrings describe defaults; they are not
    code that reads state."""
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(isinstance(t, ast.Name) and t.id in {"DOCUMENTATION", "EXAMPLES", "RETURN"}
                        for t in node.targets)):
            doc_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                doc_lines.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return doc_lines


def _py_code_lines(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(code lines without comments and documentation, path-like string literals outside documentation)."""
    text = path.read_text()
    tree = ast.parse(text)
    docs = _doc_lines(tree)
    lines = [(no, re.sub(r"\s+#\s.*$", "", line)) for no, line in enumerate(text.splitlines(), 1)
             if no not in docs and not line.lstrip().startswith("#")]
    literals = [(n.lineno, n.value) for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.lineno not in docs
                and PATH_LITERAL.search(n.value)]
    return lines, literals


def yaml_hits(path: Path) -> list[str]:
    hits = []
    for no, line in _yaml_lines(path):
        for name, rx, allowed in YAML_RULES:
            if rx.search(line) and not (allowed and allowed.search(line)):
                hits.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{no}: {name}: "
                            f"{line.strip()[:140]}")
    return hits


def py_hits(path: Path) -> list[str]:
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    lines, literals = _py_code_lines(path)
    hits = [f"{where}:{no}: {name}: {line.strip()[:140]}" for no, line in lines for name, rx in PY_RULES
            if rx.search(line)]
    hits += [f"{where}:{no}: a path under .cache or a SQLite file: {value[:140]!r}" for no, value in literals]
    return hits


def _files(dirs: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for d in dirs for p in d.rglob("*") if p.is_file() and p.suffix in suffixes
                  and "molecule" not in p.relative_to(d).parts)


def test_the_sources_are_there() -> None:
    assert len(_files(YAML_DIRS, (".yml", ".yaml", ".j2"))) > 20
    assert len(_files(PY_DIRS, (".py",))) > 10


def test_no_playbook_or_role_keeps_state_next_to_itself() -> None:
    hits = [h for p in _files(YAML_DIRS, (".yml", ".yaml", ".j2")) for h in yaml_hits(p)]
    assert hits == [], "state kept relative to the checkout (use the state store, s4_state_url):\n" + "\n".join(hits)


def test_no_plugin_reads_or_writes_state_relative_to_the_current_directory() -> None:
    hits = [h for p in _files(PY_DIRS, (".py",)) for h in py_hits(p)]
    assert hits == [], "state kept relative to the current directory:\n" + "\n".join(hits)


@pytest.mark.parametrize("line", [
    '    s4_history_db: "{{ playbook_dir }}/../.cache/s4/history.sqlite"',
    '    db: "{{ playbook_dir }}/../state/history.db"',
    '    path: "{{ __s4_poc_root }}/.cache/s4/poc/{{ name }}/known_hosts"',
    "      __x: \"{{ lookup('ansible.builtin.password', s4_poc_dir ~ '/credentials/x length=24') }}\"",
    "      __x: \"{{ lookup('password', 'creds/x') }}\"",
    '    store: sqlite:////srv/s4/state.sqlite',
])
def test_a_planted_playbook_line_is_caught(tmp_path: Path, line: str) -> None:
    book = tmp_path / "book.yml"
    book.write_text(f"- hosts: localhost\n  vars:\n{line}\n")
    assert yaml_hits(book), line


@pytest.mark.parametrize("line", [
    '    s4_report_dir: "{{ playbook_dir }}/../reports/eol/{{ s4_as_of }}"',
    "      content: \"{{ lookup('ansible.builtin.password', '/dev/null length=24 chars=ascii_letters,digits') }}\"",
    '    # the old .cache/s4/history.sqlite is imported by the store',
])
def test_report_output_generated_passwords_and_comments_pass(tmp_path: Path, line: str) -> None:
    book = tmp_path / "book.yml"
    book.write_text(f"- hosts: localhost\n  vars:\n{line}\n")
    assert yaml_hits(book) == [], line


@pytest.mark.parametrize("code", [
    "db = os.path.join(os.getcwd(), 'x')",
    "root = Path.cwd() / 'state'",
    "p = '.cache/s4/history.sqlite'",
    "p = os.path.join(root, 'release_watch.sqlite')",
    "base = os.path.join(task_vars.get('playbook_dir'), '..')",
])
def test_a_planted_plugin_line_is_caught(tmp_path: Path, code: str) -> None:
    mod = tmp_path / "plugin.py"
    mod.write_text(f'"""A plugin: the docstring may name .cache/s4/state.sqlite."""\nimport os\n{code}\n')
    assert py_hits(mod), code
    doc = tmp_path / "doc.py"
    doc.write_text('DOCUMENTATION = r"""\ndefault: .cache/s4/state.sqlite\n"""\n'
                   'msg = "an old history.sqlite next to the store is imported"\n'
                   'name = os.path.basename(str(task_vars.get("playbook_dir") or ""))\n')
    assert py_hits(doc) == []
