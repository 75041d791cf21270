"""Benchmarks (``make bench``): figures come from here, never from timed tests."""
