"""Benchmarks: scripts that measure the running system and print figures."""
