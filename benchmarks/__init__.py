"""Benchmarks of Container Hotfix against the docker CLI and the raw Engine API.

``python -m benchmarks.run`` (``make bench``; ``make bench-quick`` for CI) measures each
case next to its baseline in the same run and writes ``benchmarks/results.md`` and
``results.json``. See docs/performance.md.
"""
