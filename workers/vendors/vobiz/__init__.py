"""Vobiz: SIP-trunk webhooks, Plivo-style application callbacks and the CDR API (shared/vendors.md §2)."""
