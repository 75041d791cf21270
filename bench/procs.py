"""Process helpers for the benchmark: peak memory of a process tree, wrk runs."""

from __future__ import annotations

import json
import os
import subprocess
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


def _memory_mb(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory field summed over the process tree, in MiB."""
    total_kb = 0
    for p in tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        total_kb += sum(int(line.split()[1]) for line in lines if line.startswith(f"{field}:"))
    return round(total_kb / 1024, 1)


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of the process tree."""
    return _memory_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    return _memory_mb(pid, "VmRSS")


def cpu_s(pid: int) -> float:
    """CPU time (user + system) the process tree has used so far, children that ended included
    (a Redis AOF rewrite, a PostgreSQL backend), in seconds."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def wrk(url: str, requests_file: Path, *, threads: int, connections: int, seconds: int, delay_ms: int = 0) -> dict:
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
            "-s", str(LUA), url, "--", str(requests_file), str(threads), str(delay_ms)]  # fmt: skip
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result
