"""Worker tasks with real UPIDs, status and logs (PVE::RESTEnvironment fork_worker / PVE::Tools upid_*).

A task runs in a thread; its log and final state are written to ``<state_dir>/tasks/<pid>-<starttime>.json`` so
status and log stay readable after a server restart. A task still "running" in a file that no live server owns
ended with the server: it reads as ``unexpected status`` (as PVE reports workers that vanished).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s4.pve.backend import BackendError
from s4.pve.errors import TaskError

UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
    r"([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


def _pstart() -> int:
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return 0


def parse_upid(upid: str) -> dict[str, Any] | None:
    m = UPID_RE.match(upid)
    if not m:
        return None
    node, _, pid, pstart, starttime, ttype, tid, user = m.groups()
    return {"node": node, "pid": int(pid, 16), "pstart": int(pstart, 16), "starttime": int(starttime, 16),
            "type": ttype, "id": tid, "user": user}


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    status: str = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    lines: list[str] = field(default_factory=list)
    warnings: int = 0

    def log(self, line: str) -> None:
        for part in str(line).splitlines() or [""]:
            self.lines.append(part)

    def warn(self, line: str) -> None:
        self.warnings += 1
        self.log(f"WARN: {line}")

    def status_dict(self) -> dict[str, Any]:
        userid, _, tokenname = self.user.partition("!")
        out: dict[str, Any] = {"upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
                               "starttime": self.starttime, "type": self.type, "id": self.id, "user": userid,
                               "status": self.status}
        if tokenname:
            out["tokenid"] = tokenname
        if self.status == "stopped":
            out["exitstatus"] = self.exitstatus
        return out

    def to_json(self) -> dict[str, Any]:
        return {"upid": self.upid, "status": self.status, "exitstatus": self.exitstatus, "endtime": self.endtime,
                "lines": self.lines, "warnings": self.warnings, "owner_pid": os.getpid()}


class TaskRunner:
    def __init__(self, state_dir: Path, node: str, delay: float = 0.0) -> None:
        self.dir = state_dir / "tasks"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.node = node
        self.delay = delay
        self.tasks: dict[str, Task] = {}
        self.lock = threading.Lock()
        self._pstart = _pstart()
        self._pids = itertools.count((os.getpid() << 12) & 0xFFFFFFFF)
        self.threads: list[threading.Thread] = []

    def _file(self, task: Task) -> Path:
        return self.dir / f"{task.pid:08X}-{task.starttime:08X}.json"

    def _save(self, task: Task) -> None:
        path = self._file(task)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(task.to_json()))
        os.replace(tmp, path)

    def new_upid(self, ttype: str, tid: str, user: str) -> Task:
        with self.lock:
            pid = next(self._pids) & 0xFFFFFFFF
        start = int(time.time())
        upid = f"UPID:{self.node}:{pid:08X}:{self._pstart:08X}:{start:08X}:{ttype}:{tid}:{user}:"
        return Task(upid, self.node, pid, self._pstart, start, ttype, tid, user)

    def run(self, ttype: str, tid: str, user: str, work: Callable[[Task], None],
            on_error: Callable[[Task, str], None] | None = None) -> str:
        """Start ``work(task)`` in a thread; return the UPID at once."""
        task = self.new_upid(ttype, tid, user)
        with self.lock:
            self.tasks[task.upid] = task
        self._save(task)

        def body() -> None:
            error: str | None = None
            try:
                if self.delay:
                    time.sleep(self.delay)
                work(task)
            except (TaskError, BackendError) as exc:
                error = str(exc).strip() or exc.__class__.__name__
            except Exception as exc:  # a bug must still end the task, with the reason in the log
                error = f"internal error: {exc.__class__.__name__}: {exc}"
                for line in traceback.format_exc().splitlines():
                    task.log(line)
            if error is not None and on_error is not None:
                try:
                    on_error(task, error)
                except Exception as exc:
                    task.log(f"cleanup failed: {exc}")
            if error is not None:
                error = error.splitlines()[0]
                task.log(f"TASK ERROR: {error}")
                task.exitstatus = error
            elif task.warnings:
                task.log(f"TASK WARNINGS: {task.warnings}")
                task.exitstatus = f"WARNINGS: {task.warnings}"
            else:
                task.log("TASK OK")
                task.exitstatus = "OK"
            task.endtime = int(time.time())
            task.status = "stopped"
            self._save(task)

        thread = threading.Thread(target=body, name=f"task-{ttype}-{tid}", daemon=True)
        self.threads.append(thread)
        thread.start()
        return task.upid

    def get(self, upid: str) -> Task | None:
        with self.lock:
            task = self.tasks.get(upid)
        if task:
            return task
        info = parse_upid(upid)
        if not info or info["node"] != self.node:
            return None
        path = self.dir / f"{info['pid']:08X}-{info['starttime']:08X}.json"
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if data.get("upid") != upid:
            return None
        task = Task(upid, info["node"], info["pid"], info["pstart"], info["starttime"], info["type"], info["id"],
                    info["user"], data["status"], data.get("exitstatus"), data.get("endtime"), data.get("lines", []),
                    data.get("warnings", 0))
        if task.status == "running":  # its server is gone: the worker vanished with it
            task.status, task.exitstatus = "stopped", "unexpected status"
        return task

    def all(self) -> list[Task]:
        seen: dict[str, Task] = {}
        for path in sorted(self.dir.glob("*.json")):
            try:
                upid = json.loads(path.read_text()).get("upid", "")
            except (OSError, json.JSONDecodeError):
                continue
            task = self.get(upid)
            if task:
                seen[upid] = task
        with self.lock:
            seen.update(self.tasks)
        return sorted(seen.values(), key=lambda t: (t.starttime, t.pid), reverse=True)

    def active(self) -> int:
        with self.lock:
            return sum(1 for t in self.tasks.values() if t.status == "running")

    def wait_all(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self.threads):
            thread.join(max(0.0, deadline - time.monotonic()))
