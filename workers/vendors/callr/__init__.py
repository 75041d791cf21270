"""Callr: v2 webhooks, Actions ``fetch@v2`` pushes, legacy v1 webhooks (shared/vendors.md §1)."""
