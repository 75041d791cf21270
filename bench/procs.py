"""Process helpers for the benchmark: peak memory of a process tree, wrk runs."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

LUA = Path(__file__).parent / "signed.lua"


def tree(pid: int) -> list[int]:
    """The pid and all its descendants (uvicorn workers are children of the manager)."""
    result, todo = [], [pid]
    while todo:
        p = todo.pop()
        result.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo.extend(int(k) for k in kids)
    return result


def _tree_sum(pid: int, file: str, read: Callable[[str], int]) -> int:
    """``read`` of /proc/<p>/<file> summed over the process tree (a process gone meanwhile counts 0)."""
    total = 0
    for p in tree(pid):
        try:
            total += read(Path(f"/proc/{p}/{file}").read_text())
        except OSError:
            continue
    return total


def _memory_mb(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory field summed over the process tree, in MiB."""
    kb = _tree_sum(
        pid, "status", lambda text: sum(int(x.split()[1]) for x in text.splitlines() if x.startswith(f"{field}:"))
    )
    return round(kb / 1024, 1)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the process tree."""
    return _memory_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    return _memory_mb(pid, "VmRSS")


def cpu_s(pid: int) -> float:
    """CPU time (user + system) the process tree has used so far, children that ended included
    (a Redis AOF rewrite, a PostgreSQL backend), in seconds."""
    ticks = _tree_sum(pid, "stat", lambda text: sum(int(f) for f in text.rsplit(")", 1)[1].split()[11:15]))
    return ticks / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime, in clock ticks


def wrk(url: str, requests_file: Path, *, threads: int, connections: int, seconds: int, delay_ms: int = 0) -> dict:
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
            "-s", str(LUA), url, "--", str(requests_file), str(threads), str(delay_ms)]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result
