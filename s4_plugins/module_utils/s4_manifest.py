# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Smartt
# SPDX-License-Identifier: MIT
#
# PRIVATE to the smartt.s4 collection: this API may change at any time.
"""Data manifest: walk roots, record every entry's metadata and the SHA-256 of its content.

Stdlib only, Python 3.6+. Runs on the target (module ``smartt.s4.data_manifest``) and on the controller (tests,
``scripts/bench_integrity``).

Manifest file format (gzip-compressed JSON lines, UTF-8):

* line 1, header: ``{"s4_manifest": 1, "algorithm": "sha256", "path_encoding": "percent", "roots": [...],
  "excludes": [...], "entries": N, "tree_sha256": "..."}``
* then one line per entry, sorted by (root, path)::

      {"root": "/srv/www", "path": "acme/index.php", "type": "file", "size": 123, "mode": "0644",
       "uid": 33, "gid": 33, "owner": "www-data", "group": "www-data", "mtime_ns": 1700000000123456789,
       "nlink": 1, "sha256": "..."}

  ``type`` is file, dir, link, fifo, socket, char, block or other; ``target`` (symlinks, never followed),
  ``hardlink`` (path of the first entry seen with the same inode), ``rdev`` (devices) and ``error`` (why the
  content could not be read; ``sha256`` is then null) appear when they apply. The root itself is path ``.``.

Paths are stored losslessly as percent-encoded bytes: every byte outside printable ASCII (0x21-0x7e), plus ``%``
and space, is written ``%XX``; so names with spaces, newlines or non-UTF-8 bytes survive and two different names
never share an encoding. :func:`decode_path` returns the original bytes.

``tree_sha256`` is the SHA-256 of the entry lines (without the header), so it is identical across runs over an
unchanged tree and can be compared without reading the entries.
"""

from __future__ import absolute_import, division, print_function

import contextlib
import errno
import fnmatch
import grp
import gzip
import hashlib
import io
import json
import os
import pwd
import stat
import tempfile

try:  # Python 3.6-compatible
    from urllib.parse import quote_from_bytes, unquote_to_bytes
except ImportError:  # pragma: no cover - Python 2 is not supported
    raise

__metaclass__ = type

FORMAT_VERSION = 1
BUFSIZE = 1024 * 1024            # read size for hashing
SMALL_FILE = 4 * 1024 * 1024     # files up to this size are batched
BATCH_FILES = 256                # at most this many small files per batch
BATCH_BYTES = 32 * 1024 * 1024   # and at most this many bytes per batch
ERROR_LIMIT = 200                # errors listed in the summary (all are in the manifest)

# printable ASCII except '%' and ' ' stays as is; everything else is %XX
_SAFE = bytes(bytearray(c for c in range(0x21, 0x7F) if c not in (0x25,))).decode("ascii")

_TYPES = (
    (stat.S_ISREG, "file"),
    (stat.S_ISDIR, "dir"),
    (stat.S_ISLNK, "link"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "char"),
    (stat.S_ISBLK, "block"),
)


class ManifestError(Exception):
    """A problem that stops the manifest (bad root, unreadable previous manifest...)."""


def encode_path(raw):
    # type: (bytes) -> str
    """Percent-encode a path given as bytes (lossless, ASCII only)."""
    return quote_from_bytes(raw, safe=_SAFE)


def decode_path(text):
    # type: (str) -> bytes
    return unquote_to_bytes(text)


def display_path(text):
    # type: (str) -> str
    """Human-readable form of an encoded path (invalid UTF-8 shown as U+FFFD)."""
    return decode_path(text).decode("utf-8", "replace")


def entry_type(mode):
    # type: (int) -> str
    for test, name in _TYPES:
        if test(mode):
            return name
    return "other"


# --------------------------------------------------------------------------------------------------- hashing

_ZEROS = None
_BUF = None


def _buffer():
    """One read buffer per process (allocating 1 MiB per file would dominate small-file cost)."""
    global _BUF
    if _BUF is None:
        b = bytearray(BUFSIZE)
        _BUF = (b, memoryview(b))
    return _BUF


def _zeros():
    global _ZEROS
    if _ZEROS is None:
        _ZEROS = bytes(BUFSIZE)
    return _ZEROS


def _hash_fd(fd, h, limit=None):
    # type: (int, object, object) -> int
    """Feed ``fd`` from its current offset to EOF (or ``limit`` bytes) into ``h``; return bytes read."""
    buf, view = _buffer()
    total = 0
    while limit is None or total < limit:
        want = BUFSIZE if limit is None else min(BUFSIZE, limit - total)
        n = os.readv(fd, [view[:want]] if want < BUFSIZE else [buf])
        if not n:
            break
        h.update(view[:n])
        total += n
    return total


def _hash_sparse(fd, size, h):
    # type: (int, int, object) -> bool
    """Hash a sparse file, reading only its data extents (holes are fed as zeros). False if unsupported."""
    seek_data = getattr(os, "SEEK_DATA", None)
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_data is None or seek_hole is None:
        return False
    zeros = _zeros()
    pos = 0
    try:
        while pos < size:
            try:
                data = min(os.lseek(fd, pos, seek_data), size)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no data after pos, the rest is a hole
                    raise
                data = size
            hole = data - pos
            while hole > 0:  # holes read as zeros
                n = min(hole, len(zeros))
                h.update(zeros if n == len(zeros) else zeros[:n])
                hole -= n
            pos = data
            if pos >= size:
                break
            end = min(os.lseek(fd, pos, seek_hole), size)
            os.lseek(fd, pos, os.SEEK_SET)
            want = end - pos
            got = _hash_fd(fd, h, want)
            pos += got
            if got < want:  # file shrank while reading
                break
    except OSError as exc:
        if exc.errno in (errno.EINVAL, getattr(errno, "EOPNOTSUPP", errno.EINVAL)):
            return False
        raise
    return True


def hash_file(path):
    # type: (bytes) -> tuple
    """Return (sha256 hex, None) or (None, error message) for the regular file ``path`` (bytes)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOATIME", 0))
    except OSError as exc:
        if exc.errno == errno.EPERM and getattr(os, "O_NOATIME", 0):  # O_NOATIME needs ownership or CAP_FOWNER
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError as exc2:
                return None, _oserror(exc2)
        else:
            return None, _oserror(exc)
    try:
        h = hashlib.sha256()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file any more"
        sparse = st.st_size > BUFSIZE and st.st_blocks * 512 < st.st_size
        if not (sparse and _hash_sparse(fd, st.st_size, h)):
            if sparse:
                h = hashlib.sha256()
                os.lseek(fd, 0, os.SEEK_SET)
            _hash_fd(fd, h)
        after = os.fstat(fd)
        if after.st_size != st.st_size or _mtime_ns(after) != _mtime_ns(st):
            return None, "changed while being read (size or mtime moved): quiesce writers and run again"
        return h.hexdigest(), None
    except OSError as exc:
        return None, _oserror(exc)
    finally:
        os.close(fd)


def _oserror(exc):
    # type: (OSError) -> str
    return "{0}: {1}".format(errno.errorcode.get(exc.errno, exc.errno), exc.strerror or str(exc))


def hash_batch(paths):
    # type: (list) -> list
    """Hash a batch of files; worker entry point. ``paths`` is a list of (index, path bytes)."""
    return [(i,) + hash_file(p) for i, p in paths]


# --------------------------------------------------------------------------------------------------- walking

class _Names:
    def __init__(self):
        self.users = {}
        self.groups = {}

    def user(self, uid):
        try:
            return self.users[uid]
        except KeyError:
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = None
            self.users[uid] = name
            return name

    def group(self, gid):
        try:
            return self.groups[gid]
        except KeyError:
            try:
                name = grp.getgrgid(gid).gr_name
            except KeyError:
                name = None
            self.groups[gid] = name
            return name


def _excluded(rel, name, patterns):
    # type: (bytes, bytes, list) -> bool
    for pat, anchored in patterns:
        if anchored:
            if fnmatch.fnmatchcase(rel, pat):
                return True
        elif fnmatch.fnmatchcase(name, pat):
            return True
    return False


def compile_excludes(excludes):
    # type: (list) -> list
    """Patterns without '/' match any entry's name; patterns with '/' match the path relative to the root.

    A leading '/' anchors explicitly (``/cache`` = the root's own ``cache``); a trailing '/' is ignored. Excluded
    directories are not descended into.
    """
    out = []
    for pat in excludes or []:
        raw = pat.encode("utf-8", "surrogateescape") if not isinstance(pat, bytes) else pat
        raw = raw.rstrip(b"/") or raw
        if b"/" in raw:
            out.append((raw.lstrip(b"/"), True))
        else:
            out.append((raw, False))
    return out


class Walker:
    """Walks roots with ``os.scandir`` (symlinks never followed) and yields entries to hash in batches."""

    def __init__(self, roots, excludes=None, skip_paths=None, previous=None, one_file_system=False):
        self.roots = roots
        self.patterns = compile_excludes(excludes)
        self.skip = set(os.path.abspath(p) for p in (skip_paths or []))
        self.skip = set(p.encode("utf-8", "surrogateescape") if not isinstance(p, bytes) else p for p in self.skip)
        self.previous = previous or {}
        self.one_file_system = one_file_system
        self.entries = []      # list of dicts, in walk order
        self.names = _Names()
        self.inodes = {}       # (dev, ino) -> entry index of the first file seen with that inode
        self.reused = 0
        self.excluded = 0

    def _entry(self, root_enc, rel, st, full):
        mode = st.st_mode
        kind = entry_type(mode)
        e = {
            "root": root_enc,
            "path": encode_path(rel) if rel else ".",
            "type": kind,
            "size": st.st_size if kind in ("file", "link") else 0,
            "mode": "%04o" % stat.S_IMODE(mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "owner": self.names.user(st.st_uid),
            "group": self.names.group(st.st_gid),
            "mtime_ns": _mtime_ns(st),
            "nlink": st.st_nlink,
        }
        if kind == "link":
            try:
                e["target"] = encode_path(os.readlink(full))
            except OSError as exc:
                e["target"] = None
                e["error"] = _oserror(exc)
        elif kind in ("char", "block"):
            e["rdev"] = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        return e

    def walk(self):
        """Generator of batches [(index, path bytes), ...] of regular files whose content must be hashed."""
        batch, batch_bytes = [], 0
        for root in self.roots:
            root_b = root.encode("utf-8", "surrogateescape") if not isinstance(root, bytes) else root
            root_enc = encode_path(root_b)
            st = os.lstat(root_b)
            dev = st.st_dev
            self.entries.append(self._entry(root_enc, b"", st, root_b))
            stack = [(root_b, b"", len(self.entries) - 1)] if stat.S_ISDIR(st.st_mode) else []
            if stat.S_ISREG(st.st_mode):
                for item in self._file(len(self.entries) - 1, root_b, st):
                    yield [item]
            while stack:
                dirpath, relbase, dir_idx = stack.pop()
                try:
                    it = os.scandir(dirpath)
                except OSError as exc:
                    self.entries[dir_idx]["error"] = "cannot list directory: " + _oserror(exc)
                    continue
                with it:
                    children = []
                    for de in it:
                        name = de.name
                        rel = relbase + b"/" + name if relbase else name
                        full = de.path
                        if self.patterns and _excluded(rel, name, self.patterns):
                            self.excluded += 1
                            continue
                        if full in self.skip:
                            continue
                        try:
                            cst = de.stat(follow_symlinks=False)
                        except OSError as exc:
                            self.entries.append({"root": root_enc, "path": encode_path(rel), "type": "other",
                                                 "error": _oserror(exc)})
                            continue
                        children.append((rel, full, cst))
                for rel, full, cst in children:
                    idx = len(self.entries)
                    self.entries.append(self._entry(root_enc, rel, cst, full))
                    m = cst.st_mode
                    if stat.S_ISDIR(m):
                        if not (self.one_file_system and cst.st_dev != dev):
                            stack.append((full, rel, idx))
                    elif stat.S_ISREG(m):
                        for item in self._file(idx, full, cst):
                            if cst.st_size > SMALL_FILE:
                                yield [item]
                                continue
                            batch.append(item)
                            batch_bytes += cst.st_size
                            if len(batch) >= BATCH_FILES or batch_bytes >= BATCH_BYTES:
                                yield batch
                                batch, batch_bytes = [], 0
        if batch:
            yield batch

    def _file(self, idx, full, st):
        e = self.entries[idx]
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            group = self.inodes.get(key)
            if group is not None:  # content already hashed (or queued) for this inode
                group.append(idx)
                return
            self.inodes[key] = [idx]
        prev = self.previous.get((e["root"], e["path"]))
        if prev is not None and prev[0] == e["size"] and prev[1] == e["mtime_ns"] and prev[2]:
            e["sha256"] = prev[2]
            self.reused += 1
            return
        yield (idx, full)

    def link_hardlinks(self):
        """Within each inode group, every entry but the smallest path gets ``hardlink`` = that path (stable
        whatever the directory order) and shares the hash of the entry that was read."""
        for group in self.inodes.values():
            if len(group) < 2:
                continue
            first = self.entries[group[0]]  # the one that was hashed
            names = sorted(group, key=lambda i: (self.entries[i]["root"], self.entries[i]["path"]))
            canon = self.entries[names[0]]
            for i in group:
                e = self.entries[i]
                e["sha256"] = first.get("sha256")
                if first.get("error"):
                    e["error"] = first["error"]
                if i != names[0]:
                    e["hardlink"] = canon["path"] if canon["root"] == e["root"] else canon["root"] + "/" + canon["path"]


def _mtime_ns(st):
    ns = getattr(st, "st_mtime_ns", None)
    return ns if ns is not None else int(st.st_mtime * 1e9)


# --------------------------------------------------------------------------------------------------- building

def default_workers():
    # type: () -> int
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def check_roots(roots):
    # type: (list) -> None
    if not roots:
        raise ManifestError("no roots given")
    for root in roots:
        if not os.path.isabs(root):
            raise ManifestError("root {0!r} is not an absolute path".format(root))
        try:
            st = os.lstat(root)
        except OSError as exc:
            raise ManifestError("root {0!r} cannot be read: {1}".format(root, _oserror(exc))) from None
        if stat.S_ISDIR(st.st_mode):
            try:
                os.scandir(root).close()
            except OSError as exc:
                raise ManifestError("root {0!r} cannot be listed: {1}".format(root, _oserror(exc))) from None
        elif not stat.S_ISREG(st.st_mode):
            raise ManifestError("root {0!r} is neither a directory nor a regular file".format(root))


def build(roots, excludes=None, workers=0, previous=None, skip_paths=None, one_file_system=False):
    # type: (list, list, int, object, list, bool) -> dict
    """Walk and hash ``roots``; return {"header": {...}, "entries": [...], "stats": {...}}.

    ``previous`` is an earlier manifest (path or the dict returned by :func:`load`): regular files whose size and
    mtime are unchanged reuse its hash instead of being read.
    """
    roots = [os.path.normpath(r) if r != "/" else r for r in roots]
    check_roots(roots)
    prev_index = {}
    if previous is not None:
        prev = load(previous) if isinstance(previous, str) else previous
        for e in prev["entries"]:
            if e.get("type") == "file" and e.get("sha256"):
                prev_index[(e["root"], e["path"])] = (e.get("size"), e.get("mtime_ns"), e["sha256"])
    walker = Walker(roots, excludes, skip_paths=skip_paths, previous=prev_index, one_file_system=one_file_system)
    workers = workers or default_workers()
    hashed_bytes = 0
    results = _run_batches(walker.walk(), workers)
    entries = walker.entries
    for idx, digest, err in results:
        e = entries[idx]
        if err:
            e["sha256"] = None
            e["error"] = err
        else:
            e["sha256"] = digest
            hashed_bytes += e["size"]
    walker.link_hardlinks()
    entries.sort(key=lambda x: (x["root"], x["path"]))
    stats = summarize(entries)
    stats.update({"hashed_bytes": hashed_bytes, "reused": walker.reused, "excluded": walker.excluded,
                  "workers": workers})
    header = {
        "s4_manifest": FORMAT_VERSION,
        "algorithm": "sha256",
        "path_encoding": "percent",
        "roots": [encode_path(r.encode("utf-8", "surrogateescape")) for r in roots],
        "excludes": list(excludes or []),
        "entries": len(entries),
    }
    return {"header": header, "entries": entries, "stats": stats}


def _run_batches(batches, workers):
    """Hash batches with a fork pool of ``workers`` processes (serially when workers == 1)."""
    if workers <= 1:
        out = []
        for b in batches:
            out.extend(hash_batch(b))
        return out
    import multiprocessing
    try:
        ctx = multiprocessing.get_context("fork")
    except (AttributeError, ValueError):
        ctx = multiprocessing
    pool = ctx.Pool(workers)
    try:
        out = []
        for res in pool.imap_unordered(hash_batch, batches):
            out.extend(res)
        pool.close()
        pool.join()
        return out
    except BaseException:
        pool.terminate()
        raise


def summarize(entries):
    # type: (list) -> dict
    counts = {}
    total_bytes = 0
    errors = []
    for e in entries:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
        if e["type"] == "file" and not e.get("hardlink"):
            total_bytes += e.get("size") or 0
        if e.get("error"):
            errors.append({"root": display_path(e["root"]), "path": display_path(e["path"]), "error": e["error"]})
    return {"entries": len(entries), "counts": counts, "bytes": total_bytes, "error_count": len(errors),
            "errors": errors[:ERROR_LIMIT]}


# --------------------------------------------------------------------------------------------------- files

def _entry_line(e):
    # type: (dict) -> bytes
    return (json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


def serialize(manifest):
    # type: (dict) -> bytes
    """Gzip-compressed manifest bytes (deterministic: gzip mtime 0, sorted keys)."""
    lines = [_entry_line(e) for e in manifest["entries"]]
    tree = hashlib.sha256()
    for line in lines:
        tree.update(line)
    header = dict(manifest["header"])
    header["tree_sha256"] = tree.hexdigest()
    manifest["header"] = header
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=3, mtime=0) as gz:
        gz.write(_entry_line(header))
        gz.write(b"".join(lines))
    return raw.getvalue()


def write(manifest, dest, mode=0o600):
    # type: (dict, str, int) -> dict
    """Write atomically; return {"path", "sha256", "size", "changed", "tree_sha256"}."""
    data = serialize(manifest)
    digest = hashlib.sha256(data).hexdigest()
    changed = True
    try:
        with open(dest, "rb") as f:
            changed = hashlib.sha256(f.read()).hexdigest() != digest
    except (IOError, OSError):
        pass
    if changed:
        d = os.path.dirname(os.path.abspath(dest))
        parent = os.stat(d)  # restored afterwards: the manifest must not change the tree it describes
        fd, tmp = tempfile.mkstemp(prefix=".s4manifest.", dir=d)
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.rename(tmp, dest)
            with contextlib.suppress(OSError):
                os.utime(d, ns=(parent.st_atime_ns, parent.st_mtime_ns))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return {"path": dest, "sha256": digest, "size": len(data), "changed": changed,
            "tree_sha256": manifest["header"]["tree_sha256"]}


def load(path_or_bytes):
    # type: (object) -> dict
    """Read a manifest file (path, or gzip bytes, or plain JSON-lines bytes)."""
    try:
        if isinstance(path_or_bytes, bytes):
            data = path_or_bytes
        else:
            with open(path_or_bytes, "rb") as f:
                data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = data.splitlines()
        if not lines:
            raise ManifestError("empty manifest")
        header = json.loads(lines[0].decode("utf-8"))
        if not isinstance(header, dict) or header.get("s4_manifest") != FORMAT_VERSION:
            raise ManifestError("not an s4 manifest (format {0})".format(FORMAT_VERSION))
        entries = [json.loads(line.decode("utf-8")) for line in lines[1:] if line.strip()]
    except (IOError, OSError, ValueError, EOFError) as exc:
        raise ManifestError("cannot read manifest {0!r}: {1}".format(
            path_or_bytes if not isinstance(path_or_bytes, bytes) else "<bytes>", exc)) from None
    if header.get("entries") is not None and header["entries"] != len(entries):
        raise ManifestError("manifest is truncated: header says {0} entries, found {1}".format(
            header["entries"], len(entries)))
    return {"header": header, "entries": entries}
