"""Sinch Voice: DiCE callbacks (shared/vendors.md §4)."""
