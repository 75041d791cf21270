"""2600Hz Kazoo: ``channel_destroy`` webhooks, one CDR per call leg (shared/vendors.md §3)."""
