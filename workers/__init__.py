"""cdr-ingest core: settings, queue contract, vendor feeds, normalization, merge, store, jobs, CLI."""

from workers import native as _native

_native.guard()  # compiled modules whose source changed since the build run from source (workers.native)
