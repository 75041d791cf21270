"""Architecture rules, checked on the source: workers/ never imports receiver/, and only the
settings module reads the environment (cli.py only copies it for child processes)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_workers_never_import_receiver() -> None:
    """The core does not depend on the HTTP edge (uvicorn gets the app by its import string)."""
    offenders = [str(p.relative_to(ROOT)) for p in modules("workers") if any(
        n == "receiver" or n.startswith("receiver.") for n in imported_names(p))]  # fmt: skip
    assert offenders == []


def test_only_settings_reads_the_environment() -> None:
    """Configuration is read once, in workers/settings.py; everything else gets it passed in."""
    allowed = {"workers/settings.py", "workers/cli.py"}
    offenders = []
    for p in modules("workers") + modules("receiver"):
        rel = str(p.relative_to(ROOT))
        if rel in allowed:
            continue
        text = p.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(rel)
    assert offenders == []


def test_every_feed_module_has_the_surface() -> None:
    """Every registered feed module defines FEED (its own name), SOURCE, parse and to_cdr."""
    from workers.vendors import FEED_MODULES, get_feed

    for name in FEED_MODULES:
        feed = get_feed(name)
        assert feed.FEED == name
        assert callable(feed.parse) and callable(feed.to_cdr)
        assert feed.SOURCE in ("webhook", "push", "backfill")
