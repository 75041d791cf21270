"""HTTP edge of cdr-ingest: authenticate, check, enqueue, answer. No normalization, no store writes."""
