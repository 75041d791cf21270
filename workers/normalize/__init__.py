"""Shared pure helpers for feed adapters: times, numbers, causes, money. No I/O anywhere here."""
