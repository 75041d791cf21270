"""cdr-ingest core: settings, queue contract, vendor feeds, normalization, merge, store, jobs, CLI."""
