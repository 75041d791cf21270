"""Vobiz: SIP-trunk webhooks and Plivo-style application callbacks (shared/vendors.md §2)."""
