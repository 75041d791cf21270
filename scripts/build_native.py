#!/usr/bin/env python3
"""Compiles workers.native.MODULES with mypyc, in place, and records their sources' hashes.

Run by `make install` with the venv's Python (mypy, which carries mypyc, is a dev dependency).
Does nothing when the compiled modules are current; otherwise removes every compiled file under
workers/, builds (C in build/native/, gcc), and writes the manifest last, so a build that fails
halfway leaves modules that workers.native.guard runs from source.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))

import warnings  # noqa: E402

warnings.simplefilter("ignore", RuntimeWarning)  # the guard's "stale" warning: rebuilding is the answer
from workers import native  # noqa: E402


def main() -> int:
    if native.MANIFEST.exists() and not native.stale():
        print("build-native: compiled modules are current")
        return 0
    native.MANIFEST.unlink(missing_ok=True)
    for old in Path("workers").rglob("*.so"):
        old.unlink()
    from mypyc.build import mypycify
    from setuptools import Distribution

    paths = [str(native.source(m, Path("."))) for m in native.MODULES]
    hashes = native.source_hashes()  # of the sources as compiled, not as they may be after the build
    print(f"build-native: compiling {len(paths)} modules with mypyc")
    extensions = mypycify(paths, opt_level="3", group_name=native.GROUP, target_dir="build/native")
    dist = Distribution({"name": "cdr-ingest-native", "ext_modules": extensions})
    build = dist.get_command_obj("build_ext")
    build.inplace = True
    build.build_temp = "build/native/temp"
    build.parallel = os.cpu_count()
    dist.run_command("build_ext")
    native.MANIFEST.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
    print(f"build-native: {len(native.compiled_files())} modules compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
