"""Private files and directories on the controller (issue #13, finding 12).

What the toolkit writes on the controller maps EOL software to hosts and clients (fact cache, history DB, reports,
release-watch store and outbox): a target list for any local user. Everything goes into 0700 directories as 0600
files, whatever the umask:

* :func:`private_dir` creates missing components 0700 and tightens the leaf when it is ours and looser;
* :func:`write_private` writes atomically through a 0600 temporary file;
* :func:`private_sqlite` creates (or tightens) a SQLite file and its -wal/-shm/-journal companions to 0600 before
  SQLite opens it (SQLite gives its companions the database file's mode).

Only paths owned by the effective user are ever chmod-ed (a shared directory such as /tmp is left alone).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` when it is ours and grants anything to group/other (never follows a symlink)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
        return
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, (stat.S_IMODE(st.st_mode) & 0o7700) | (mode & 0o700))


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; an existing leaf directory of ours is tightened to
    0700. Existing parents are left as they are (only what this call creates is ours to decide)."""
    p = Path(path)
    missing = []
    cur = p
    while not cur.exists() and cur != cur.parent:
        missing.append(cur)
        cur = cur.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(d, DIR_MODE)
        _tighten(d, DIR_MODE)  # mkdir's mode is filtered by the umask; 0700 needs no umask bits but be explicit
    if not p.is_dir():
        raise NotADirectoryError(f"{p} exists and is not a directory")
    _tighten(p, DIR_MODE)
    return p


def write_private(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically as a 0600 file (parent created 0700 when missing)."""
    p = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not p.parent.is_dir():
        private_dir(p.parent)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def private_file(path: str | Path) -> None:
    """Tighten an existing file of ours to 0600 (a file written by an older version, or by another tool)."""
    _tighten(Path(path), FILE_MODE)


def private_sqlite(path: str | Path) -> Path:
    """Prepare a SQLite database path: parent 0700 when created, the file created 0600 (or tightened) with its
    companions, before ``sqlite3.connect``."""
    p = Path(path)
    if str(p) == ":memory:":
        return p
    if not p.parent.is_dir():
        private_dir(p.parent)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for suffix in ("", "-wal", "-shm", "-journal"):
        _tighten(p.with_name(p.name + suffix), FILE_MODE)
    return p
