"""The backfill poller: a second producer of the same envelopes as the receiver.

It asks each configured vendor API for the CDRs of a time window (``sources/``), enqueues each
page of rows as one ``workers.jobs.ingest`` job (``pump``), and remembers how far it got per
(vendor, account, source) in the store (``checkpoints``). ``loop`` runs forever, ``backfill`` runs
one window; ``reconcile`` compares what push and backfill delivered. It never normalizes or writes
CDRs itself: the worker does, so webhook, push and backfill copies converge on one row.
"""
