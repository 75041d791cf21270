"""2600Hz Kazoo: ``channel_destroy`` webhooks and the ``/cdrs`` listing, one CDR per call leg (shared/vendors.md §3)."""
