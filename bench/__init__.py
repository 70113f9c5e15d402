"""Benchmarks: each one starts its own throwaway PostgreSQL, Temporal dev server and SMTP sink.

Run them as modules, e.g. `python -m bench.engine`; `bench.harness` holds what they share.
"""
