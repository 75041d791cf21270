"""Sinch: Voice DiCE callbacks, the Voice and Verification daily CDR files (shared/vendors.md §4)."""
