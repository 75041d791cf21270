"""The compiled worker modules (workers.native): the suite runs them, and a stale build is never used."""

from __future__ import annotations

import importlib
import importlib.machinery
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workers import native

PROBE = "workers.normalize.times"  # a compiled module to change, and ...
CALLER = "workers.merge"  # ... one compiled module that calls it


def test_the_suite_runs_the_compiled_modules() -> None:
    """`make install` compiled every listed module and they are current, so what the tests (and
    `make bench`) exercise is the compiled code."""
    assert native.MANIFEST.exists(), "no compiled modules: run `make install` (scripts/build_native.py)"
    assert native.stale() == []
    for name in native.MODULES:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), name


def test_changed_names_each_module_whose_source_is_not_the_one_compiled() -> None:
    current = {m: f"hash-{m}" for m in native.MODULES}
    assert native.changed(current, current) == []
    assert native.changed({**current, PROBE: "old"}, current) == [PROBE]
    missing = dict(current)
    del missing[CALLER]
    assert native.changed(missing, current) == [CALLER]


def _copy(tmp_path: Path) -> Path:
    """A copy of the built tree (sources, compiled files and manifest) to import from."""
    shutil.copytree(native.ROOT / "workers", tmp_path / "workers", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _imported_from(root: Path) -> tuple[list[str], str]:
    """Where the copy's PROBE and CALLER are imported from, and what the import warned."""
    code = f"import {PROBE} as a, {CALLER} as b; print(a.__file__); print(b.__file__)"
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    files = done.stdout.split()
    assert all(f.startswith(str(root)) for f in files), files
    return files, done.stderr


@pytest.mark.skipif(not native.MANIFEST.exists(), reason="needs the compiled modules (make install)")
def test_a_current_build_is_used(tmp_path: Path) -> None:
    files, warned = _imported_from(_copy(tmp_path))
    assert all(f.endswith(".so") for f in files), files
    assert "changed since" not in warned


@pytest.mark.skipif(not native.MANIFEST.exists(), reason="needs the compiled modules (make install)")
def test_a_changed_source_runs_every_compiled_module_from_source(tmp_path: Path) -> None:
    """One edited source: it and every other compiled module (which would call the old compiled
    code directly) are imported from their sources, with a warning naming what changed."""
    root = _copy(tmp_path)
    path = native.source(PROBE, root)
    path.write_text(path.read_text() + "\n# edited after the build\n")
    files, warned = _imported_from(root)
    assert all(f.endswith(".py") for f in files), files
    assert f"{PROBE} changed since the workers were compiled" in warned


@pytest.mark.skipif(not native.MANIFEST.exists(), reason="needs the compiled modules (make install)")
def test_a_missing_compiled_module_runs_every_one_from_source(tmp_path: Path) -> None:
    """One compiled file gone (or the build made for another Python): none of them is used."""
    root = _copy(tmp_path)
    (compiled,) = [p for p in native.compiled_files(root) if p.name.startswith("merge.")]
    compiled.unlink()
    assert native.stale(root, root / "workers" / native.MANIFEST.name) == list(native.MODULES)
    files, warned = _imported_from(root)
    assert all(f.endswith(".py") for f in files), files
    assert "changed since the workers were compiled" in warned


@pytest.mark.skipif(not native.MANIFEST.exists(), reason="needs the compiled modules (make install)")
def test_compiled_files_without_a_manifest_are_not_used(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "workers" / native.MANIFEST.name).unlink()
    files, warned = _imported_from(root)
    assert all(f.endswith(".py") for f in files), files
    assert "changed since the workers were compiled" in warned
