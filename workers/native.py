"""The worker modules compiled with mypyc, and the guard that keeps a stale build out of use.

``scripts/build_native.py`` (run by ``make install``) compiles ``MODULES`` in place: each gets an
extension module beside its source (``times.cpython-311-x86_64-linux-gnu.so`` next to
``times.py``), which Python imports in preference to the source, and the group shares
``workers/_native__mypyc*.so``. The build then records every source's hash in ``MANIFEST``.
These are the per-row parts of a worker: reading a vendor's fields, normalizing times, numbers,
causes and money, merging, and encoding the stored rows; compiled, a worker spends ~25% less CPU a row on a backfill
(README, "Performance").

Compiled modules call each other directly, not through the module objects: one module run from a
changed source would still be called in its old, compiled form by the others. So when any source
differs from what was compiled (an edit, a checkout) or a compiled file is there without a
manifest, ``guard`` (``workers/__init__.py`` runs it) has every module in ``MODULES`` imported from
its source and warns. An install without the build (``pip install .``) has no compiled files and
runs the same code as plain Python.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import sys
import warnings
from collections.abc import Mapping, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent  # where ``workers/`` is
MANIFEST = Path(__file__).with_name("_native.json")
GROUP = "workers._native"  # the shared library: workers/_native__mypyc*.so

# Pure, typed modules only (mypyc compiles what mypy --strict accepts). Left out: attrs classes
# with field factories (``envelope``, ``cdr``), generic dataclasses (``store.table``),
# and modules whose functions tests replace (``jobs``): a compiled caller would not see that.
MODULES = (
    "workers.bodies",
    "workers.merge",
    "workers.normalize.causes",
    "workers.normalize.money",
    "workers.normalize.numbers",
    "workers.normalize.times",
    "workers.store.rows",
    "workers.store.verification_rows",
    "workers.vendors.fields",
    "workers.vendors.callr._common",
    "workers.vendors.callr.actions",
    "workers.vendors.callr.export",
    "workers.vendors.callr.jsonrpc",
    "workers.vendors.callr.webhook",
    "workers.vendors.kazoo._common",
    "workers.vendors.kazoo.cdrs",
    "workers.vendors.kazoo.webhook",
    "workers.vendors.sinch._common",
    "workers.vendors.sinch._layout",
    "workers.vendors.sinch.dice",
    "workers.vendors.sinch.files",
    "workers.vendors.sinch.verifications",
    "workers.vendors.vobiz._common",
    "workers.vendors.vobiz.api",
    "workers.vendors.vobiz.callback",
    "workers.vendors.vobiz.trunk",
)


def source(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes(root: Path = ROOT) -> dict[str, str]:
    """Each compiled module's source, hashed: what the manifest records and ``guard`` compares."""
    return {m: hashlib.sha256(source(m, root).read_bytes()).hexdigest() for m in MODULES}


def changed(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The modules whose source is not the one compiled (or was never compiled). Pure."""
    return [m for m in MODULES if recorded.get(m) != current.get(m)]


def compiled_files(root: Path = ROOT) -> list[Path]:
    """The compiled files of ``MODULES`` present beside their sources."""
    return [
        p
        for m in MODULES
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (p := source(m, root).with_suffix(suffix)).exists()
    ]


def stale(root: Path = ROOT, manifest: Path = MANIFEST) -> list[str]:
    """The modules that must not run compiled: every one changed since the build, or all of them
    when compiled files are there without a manifest, or when some are missing (removed, or built
    for another Python version). Empty when built and current, or not built at all."""
    present = len(compiled_files(root))
    if not manifest.exists():
        return list(MODULES) if present else []
    try:
        recorded = json.loads(manifest.read_text())
    except ValueError:
        return list(MODULES)
    if present < len(MODULES):
        return list(MODULES)
    return changed(recorded, source_hashes(root))


class _FromSource:
    """Imports ``MODULES`` from their ``.py`` files, ahead of the compiled ones beside them (a
    ``sys.meta_path`` finder; not an ``importlib.abc.MetaPathFinder``, whose import costs every
    process ~20 ms for ``importlib.resources``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source(fullname, self.root))


def guard(root: Path = ROOT, manifest: Path = MANIFEST) -> None:
    """Run ``MODULES`` from source when the build is stale, warning which changed."""
    changed_modules = stale(root, manifest)
    if not changed_modules:
        return
    if not any(isinstance(f, _FromSource) for f in sys.meta_path):
        sys.meta_path.insert(0, _FromSource(root))
    shown = ", ".join(changed_modules[:3]) + (
        f" and {len(changed_modules) - 3} more" if len(changed_modules) > 3 else ""
    )
    warnings.warn(
        f"{shown} changed since the workers were compiled (or is not compiled for this Python): running"
        " every compiled module from source (rebuild with `make install` or scripts/build_native.py)",
        RuntimeWarning,
        stacklevel=2,
    )
