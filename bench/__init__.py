"""Benchmarks of the job platform against bare Procrastinate and Postgres itself.

`make bench` runs `bench/run.py`, which writes `bench/RESULTS.md` and `bench/results.json`.
"""
