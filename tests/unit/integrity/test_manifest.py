"""s4_manifest: crafted trees (odd names, links, sparse files, errors), determinism, incremental mode."""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
from ansible_collections.smartt.s4.plugins.module_utils import s4_manifest as m
from hypothesis import given
from hypothesis import strategies as st

from s4.integrity.compare import compare_manifests

ODD = [b"with space", b"new\nline", b"latin1-\xe9\xff", b"pct%41", b"tab\there", "ünïcödé".encode()]


def make_tree(base: Path) -> Path:
    root = base / "root"
    (root / "sub" / "deep").mkdir(parents=True)
    for i, name in enumerate(ODD):
        with open(os.path.join(bytes(root / "sub"), name), "wb") as f:
            f.write(b"content %d\n" % i)
    (root / "sub" / "deep" / "file.txt").write_bytes(b"hello world\n")
    (root / "empty").write_bytes(b"")
    os.symlink("sub/deep", root / "dirlink")              # must not be followed
    os.symlink("/nonexistent/target", root / "dangling")
    os.link(root / "sub" / "deep" / "file.txt", root / "hard2")
    with open(root / "sparse.img", "wb") as f:           # 8 MiB with two data extents
        f.seek(3 * 1024 * 1024)
        f.write(b"A" * 5000)
        f.seek(8 * 1024 * 1024 - 10)
        f.write(b"Z" * 10)
    os.mkfifo(root / "fifo")
    return root


def by_path(manifest: dict) -> dict[bytes, dict]:
    return {m.decode_path(e["path"]): e for e in manifest["entries"]}


def test_records_every_entry_with_lossless_names(tmp_path):
    root = make_tree(tmp_path)
    man = m.build([str(root)], workers=1)
    entries = by_path(man)
    for i, name in enumerate(ODD):
        e = entries[b"sub/" + name]
        assert e["type"] == "file"
        assert e["sha256"] == hashlib.sha256(b"content %d\n" % i).hexdigest()
        assert e["path"].isascii() and "\n" not in e["path"] and " " not in e["path"]
    assert entries[b"."]["type"] == "dir"
    assert entries[b"fifo"]["type"] == "fifo" and "sha256" not in entries[b"fifo"]
    assert entries[b"empty"]["sha256"] == hashlib.sha256(b"").hexdigest()
    root_st = os.lstat(root)
    assert entries[b"."]["mode"] == "%04o" % (root_st.st_mode & 0o7777)
    assert entries[b"."]["mtime_ns"] == root_st.st_mtime_ns


def test_symlinks_are_recorded_not_followed(tmp_path):
    root = make_tree(tmp_path)
    entries = by_path(m.build([str(root)], workers=1))
    assert entries[b"dirlink"]["type"] == "link" and m.decode_path(entries[b"dirlink"]["target"]) == b"sub/deep"
    assert entries[b"dangling"]["target"] == "/nonexistent/target"
    assert not any(p.startswith(b"dirlink/") for p in entries)
    assert "sha256" not in entries[b"dirlink"]


def test_hard_links_hashed_once_and_grouped_stably(tmp_path):
    root = make_tree(tmp_path)
    entries = by_path(m.build([str(root)], workers=1))
    a, b = entries[b"hard2"], entries[b"sub/deep/file.txt"]
    assert a["sha256"] == b["sha256"] == hashlib.sha256(b"hello world\n").hexdigest()
    # the smallest path of the group is the canonical one, whatever the directory order
    assert "hardlink" not in a and b["hardlink"] == "hard2"
    summary = m.summarize(list(entries.values()))
    assert summary["bytes"] == sum(e["size"] for e in entries.values() if e["type"] == "file" and not e.get("hardlink"))


def test_sparse_file_hash_equals_full_read(tmp_path):
    root = make_tree(tmp_path)
    path = root / "sparse.img"
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert by_path(m.build([str(root)], workers=1))[b"sparse.img"]["sha256"] == expected
    assert m.hash_file(bytes(path)) == (expected, None)
    # a file that is all hole
    hole = tmp_path / "hole"
    with open(hole, "wb") as f:
        f.truncate(5 * 1024 * 1024 + 3)
    assert m.hash_file(bytes(hole))[0] == hashlib.sha256(b"\0" * (5 * 1024 * 1024 + 3)).hexdigest()


def test_large_file_in_chunks_matches(tmp_path):
    big = tmp_path / "big"
    data = os.urandom(m.BUFSIZE * 3 + 12345)
    big.write_bytes(data)
    assert m.hash_file(bytes(big)) == (hashlib.sha256(data).hexdigest(), None)


def test_parallel_equals_serial_and_is_repeatable(tmp_path):
    root = make_tree(tmp_path)
    for i in range(600):  # several batches
        (root / f"f{i}").write_bytes(b"x" * (i % 50))
    one = m.serialize(m.build([str(root)], workers=1))
    two = m.serialize(m.build([str(root)], workers=3))
    again = m.serialize(m.build([str(root)], workers=2))
    assert one == two == again


def test_one_byte_corruption_is_caught(tmp_path):
    root = make_tree(tmp_path)
    target = root / "sub" / "deep" / "file.txt"
    before = m.build([str(root)], workers=2)
    st = os.stat(target)
    data = bytearray(target.read_bytes())
    data[3] ^= 0x01
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the content differs
    after = m.build([str(root)], workers=2)
    result = compare_manifests(before, after)
    assert result["passed"] is False
    changed = {c["path"]: c["attributes"] for c in result["changed"]}
    assert changed == {"hard2": ["sha256"], "sub/deep/file.txt": ["sha256"]}


def test_permission_and_owner_changes_are_reported(tmp_path):
    root = make_tree(tmp_path)
    before = m.build([str(root)], workers=1)
    os.chmod(root / "empty", 0o600)
    os.lchown(root / "dangling", 12345, -1)
    result = compare_manifests(before, m.build([str(root)], workers=1))
    changed = {c["path"]: c for c in result["changed"]}
    assert changed["empty"]["attributes"] == ["mode"]
    assert changed["empty"]["source"]["mode"] == "0644" and changed["empty"]["target"]["mode"] == "0600"
    assert changed["dangling"]["attributes"] == ["owner"]
    ignored = compare_manifests(before, m.build([str(root)], workers=1), ignore=["mode", "owner", "dir_mtime"])
    assert ignored["passed"] is True


def test_unreadable_file_and_directory_are_reported(tmp_path, monkeypatch):
    root = make_tree(tmp_path)
    (root / "locked").mkdir()
    (root / "locked" / "inside").write_bytes(b"x")
    secret = bytes(root / "sub" / "deep" / "file.txt")
    real_open, real_scandir = os.open, os.scandir

    def fake_open(path, flags, *a, **kw):
        if path in (secret, bytes(root / "hard2")):
            raise OSError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *a, **kw)

    def fake_scandir(path):
        if os.fsencode(path) == bytes(root / "locked"):
            raise OSError(errno.EACCES, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(m.os, "open", fake_open)
    monkeypatch.setattr(m.os, "scandir", fake_scandir)
    man = m.build([str(root)], workers=1)
    entries = by_path(man)
    assert entries[b"sub/deep/file.txt"]["sha256"] is None
    assert entries[b"sub/deep/file.txt"]["error"].startswith("EACCES")
    assert entries[b"locked"]["error"].startswith("cannot list directory: EACCES")
    assert man["stats"]["error_count"] == 3  # both names of the hard link, and the directory
    assert {e["path"] for e in man["stats"]["errors"]} == {"sub/deep/file.txt", "hard2", "locked"}
    monkeypatch.undo()
    result = compare_manifests(man, m.build([str(root)], workers=1))
    assert result["passed"] is False and result["summary"]["unverified"] == 3


def test_excludes(tmp_path):
    root = make_tree(tmp_path)
    (root / "cache").mkdir()
    (root / "cache" / "x.log").write_bytes(b"1")
    (root / "sub" / "cache").mkdir()
    man = m.build([str(root)], excludes=["/cache", "*.txt", "sub/deep"], workers=1)
    paths = set(by_path(man))
    assert b"cache" not in paths and b"cache/x.log" not in paths
    assert b"sub/cache" in paths               # anchored pattern only at the root
    assert b"sub/deep" not in paths and b"hard2" in paths
    assert man["stats"]["excluded"] == 2


def test_incremental_reuses_unchanged_hashes(tmp_path):
    root = make_tree(tmp_path)
    first = m.build([str(root)], workers=1)
    dest = tmp_path / "m1.jsonl.gz"
    m.write(first, str(dest))
    (root / "empty").write_bytes(b"now different")
    second = m.build([str(root)], workers=1, previous=str(dest))
    assert second["stats"]["reused"] >= len(ODD)
    assert by_path(second)[b"empty"]["sha256"] == hashlib.sha256(b"now different").hexdigest()
    # a file rewritten with the same size but a new mtime is read again
    f = root / "sub" / "deep" / "file.txt"
    f.write_bytes(b"HELLO WORLD\n")
    third = m.build([str(root)], workers=1, previous=m.load(str(dest)))
    assert by_path(third)[b"sub/deep/file.txt"]["sha256"] == hashlib.sha256(b"HELLO WORLD\n").hexdigest()


def test_write_is_atomic_deterministic_and_loadable(tmp_path):
    root = make_tree(tmp_path)
    dest = tmp_path / "out.jsonl.gz"
    info = m.write(m.build([str(root)], workers=1), str(dest))
    assert info["changed"] is True and (dest.stat().st_mode & 0o777) == 0o600
    again = m.write(m.build([str(root)], workers=1), str(dest))
    assert again["changed"] is False and again["sha256"] == info["sha256"]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == info["sha256"]
    loaded = m.load(str(dest))
    assert loaded["header"]["tree_sha256"] == info["tree_sha256"]
    lines = gzip.decompress(dest.read_bytes()).splitlines()
    assert json.loads(lines[0])["entries"] == len(lines) - 1


def test_truncated_or_foreign_manifest_is_rejected(tmp_path):
    root = make_tree(tmp_path)
    data = gzip.decompress(m.serialize(m.build([str(root)], workers=1)))
    with pytest.raises(m.ManifestError, match="truncated"):
        m.load(b"\n".join(data.splitlines()[:-1]))
    with pytest.raises(m.ManifestError, match="not an s4 manifest"):
        m.load(b'{"hello": 1}\n')
    with pytest.raises(m.ManifestError, match="cannot read manifest"):
        m.load(str(tmp_path / "missing.gz"))


@pytest.mark.parametrize(
    ("roots", "message"),
    [([], "no roots"), (["relative"], "not an absolute path"), (["/nonexistent/s4"], "ENOENT")],
)
def test_bad_roots_raise_clear_errors(roots, message):
    with pytest.raises(m.ManifestError, match=message):
        m.build(roots)


def test_multiple_roots_and_file_root(tmp_path):
    root = make_tree(tmp_path)
    single = tmp_path / "single.txt"
    single.write_bytes(b"one")
    man = m.build([str(root), str(single)], workers=2)
    roots = {e["root"] for e in man["entries"]}
    assert roots == {str(root), str(single)}
    entry = [e for e in man["entries"] if e["root"] == str(single)]
    assert entry == [dict(entry[0], path=".", type="file", sha256=hashlib.sha256(b"one").hexdigest())]


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b))
def test_path_encoding_roundtrip(raw):
    enc = m.encode_path(raw)
    assert enc.isascii() and " " not in enc and "\n" not in enc
    assert m.decode_path(enc) == raw


@pytest.mark.parametrize("version", ["3.6", "3.9"])
def test_module_utils_run_on_old_target_pythons(version, tmp_path):
    """Targets run Python 3.6+: build a manifest with an old interpreter when one is installed here."""
    import shutil
    import subprocess
    import sys

    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    usable = [c for c in candidates if c and subprocess.run([c, "-c", "pass"], capture_output=True).returncode == 0]
    exe = usable[0] if usable else None
    if exe is None:
        pytest.skip(f"python{version} is not installed on this machine")
    root = make_tree(tmp_path)
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1])\n"
        "from ansible_collections.smartt.s4.plugins.module_utils import s4_manifest as m, s4_dbsum as d\n"
        "man = m.build([sys.argv[2]], workers=2)\n"
        "print(m.write(man, sys.argv[3])['tree_sha256'])\n"
    )
    collections = str(Path(__file__).resolve().parents[3] / ".collections")
    out = subprocess.run([exe, "-c", code, collections, str(root), str(tmp_path / "old.gz")], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert sys.version_info >= (3, 11)
    assert out == m.write(m.build([str(root)], workers=1), str(tmp_path / "new.gz"))["tree_sha256"]


def test_file_changing_while_read_is_an_error_not_a_wrong_hash(tmp_path, monkeypatch):
    f = tmp_path / "growing.log"
    f.write_bytes(b"line\n" * 100)
    real_fstat = os.fstat
    calls = {"n": 0}

    def fstat(fd):
        st = real_fstat(fd)
        calls["n"] += 1
        if calls["n"] == 2:  # the check after reading sees the file grown
            f.write_bytes(b"line\n" * 101)
            return real_fstat(fd)
        return st

    monkeypatch.setattr(m.os, "fstat", fstat)
    digest, error = m.hash_file(bytes(f))
    assert digest is None and error.startswith("changed while being read")
