"""The integrity gate: every difference is declared by the profile or fails the run."""

from __future__ import annotations

from typing import Any

from s4.poc import gate, profiles


def entry(root: str, path: str, **kw: Any) -> dict[str, Any]:
    e = {"root": root, "path": path, "type": "file", "size": 3, "mode": "0644", "uid": 0, "gid": 0,
         "mtime_ns": 1, "sha256": "a" * 64, "target": None, "hardlink": None}
    e.update(kw)
    return e


SRC = [
    entry("/etc/wordpress", ".", type="dir", mtime_ns=5),
    entry("/etc/wordpress", "config-blog.acme.example.php", sha256="1" * 64),
    entry("/var/lib/wordpress", "wp-content/uploads/a%20b.jpg", sha256="2" * 64),
]


def test_identical_trees_pass() -> None:
    res = gate.compare_files(SRC, [dict(e) for e in SRC], profiles.load("debian13"))
    assert res["passed"] and res["mismatches"] == [] and res["source_entries"] == 3


def test_any_undeclared_difference_fails_with_the_list() -> None:
    dst = [dict(e) for e in SRC]
    dst[2]["sha256"] = "3" * 64
    dst[1]["mode"] = "0666"
    dst.append(entry("/var/lib/wordpress", "extra.php"))
    res = gate.compare_files(SRC, dst[:1] + dst[2:], profiles.load("debian13"))
    assert not res["passed"]
    assert res["mismatches"] == [
        "/etc/wordpress/config-blog.acme.example.php: missing (present on the source, missing on the POC)",
        "/var/lib/wordpress/extra.php: added (present on the POC only)",
        "/var/lib/wordpress/wp-content/uploads/a b.jpg: modified ( content differs)",
    ]


def test_credential_rewrite_is_legitimate_only_when_listed_and_content_only() -> None:
    prof = profiles.load("debian13")
    dst = [dict(e) for e in SRC]
    dst[0]["mtime_ns"] = 99  # directory mtimes are not compared
    dst[1].update(sha256="9" * 64, size=4, mtime_ns=7)
    dst.append(entry("/etc/wordpress", "config-acme-blog.poc.smartt.example.php"))
    assert not gate.compare_files(SRC, dst, prof)["passed"]  # rewrite not declared by the run
    res = gate.compare_files(SRC, dst, prof, rewritten=["/etc/wordpress/config-blog.acme.example.php"])
    assert res["passed"], res["mismatches"]
    assert [(x["path"], x["change"]) for x in res["legitimate"]] == [
        ("/etc/wordpress/config-acme-blog.poc.smartt.example.php", "added"),
        ("/etc/wordpress/config-blog.acme.example.php", "modified"),
    ]
    dst[1]["mode"] = "0666"  # a rewrite may not change the mode
    assert not gate.compare_files(SRC, dst, prof, rewritten=["/etc/wordpress/config-blog.acme.example.php"])["passed"]


def test_tables_compare_and_overall_gate() -> None:
    src = [{"name": "wp_posts", "rows": 10, "checksum": "x"}, {"schema": "public", "name": "t", "rows": 1, "checksum": "y"}]
    ok = gate.compare_tables(src, [dict(t) for t in src], "acme_wp")
    bad = gate.compare_tables(src, [dict(src[0], rows=9)], "acme_wp")
    assert ok["passed"] and not bad["passed"]
    assert bad["mismatches"][0].startswith("acme_wp.public.t: missing on the POC")
    assert "acme_wp.wp_posts: content differs (checksum=x, rows=10 -> checksum=x, rows=9)" in bad["mismatches"]
    files = gate.compare_files(SRC, SRC, profiles.load("debian13"))
    assert gate.gate(files, [ok])["passed"]
    res = gate.gate(files, [ok, bad])
    assert not res["passed"] and res["mismatches"] == bad["mismatches"]
