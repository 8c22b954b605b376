"""The WordPress seed-data generator (runs inside the lab host): deterministic, mixed sizes, odd names."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from s4.lab import hostimages

GEN = hostimages.PROVISION_DIR / "common" / "gen_wordpress.py"
SMALL = {"seed": 7, "posts": 50, "postmeta_per_post": 4, "comments": 120, "users": 20, "usermeta_per_user": 6,
         "uploads": 300, "uploads_mb": 3}


def _run(tmp_path, name, seed=SMALL):
    params = tmp_path / f"{name}.json"
    params.write_text(json.dumps({"seed": seed, "sites": [{"domain": "blog.example"}]}))
    up = tmp_path / f"{name}-uploads"
    sql = subprocess.run([sys.executable, str(GEN), str(params), str(up)], capture_output=True, check=True).stdout
    files = {p.relative_to(up).as_posix(): p.read_bytes() for p in up.rglob("*") if p.is_file()}
    return sql.decode("utf-8"), files


def test_same_seed_same_bytes(tmp_path):
    a = _run(tmp_path, "a")
    b = _run(tmp_path, "b")
    assert a == b


def test_other_seed_other_data(tmp_path):
    a = _run(tmp_path, "a")
    c = _run(tmp_path, "c", {**SMALL, "seed": 8})
    assert a[0] != c[0]


def test_uploads_sizes_names_and_rows(tmp_path):
    sql, files = _run(tmp_path, "a")
    assert len(files) >= 0.9 * SMALL["uploads"]
    total = sum(len(b) for b in files.values())
    assert 0.8 * SMALL["uploads_mb"] * 2**20 <= total <= 1.2 * SMALL["uploads_mb"] * 2**20
    sizes = sorted(len(b) for b in files.values())
    assert sizes[-1] > 20 * sizes[len(sizes) // 2], "sizes should be mixed (a long tail of large files)"
    assert any(" " in n for n in files)
    assert any(not n.isascii() for n in files)
    # one attachment post per file, referencing its relative path
    attachments = re.findall(r"'_wp_attached_file','((?:[^'\\]|\\.)*)'", sql)
    assert sorted(a.replace("\\'", "'") for a in attachments) == sorted(files)
    for table in ("wp_users", "wp_usermeta", "wp_posts", "wp_postmeta", "wp_comments"):
        assert f"INSERT INTO {table} " in sql
    assert sql.rstrip().endswith("COMMIT;")


def test_sql_quoting():
    sys.path.insert(0, str(GEN.parent))
    try:
        import gen_wordpress  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    assert gen_wordpress.q("it's a \\ test\n") == "'it\\'s a \\\\ test\\n'"
    assert gen_wordpress.q(None) == "NULL" and gen_wordpress.q(5) == "5"
