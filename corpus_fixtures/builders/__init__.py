"""One builder module per format family.

Each module exposes ``FIXTURES: dict[str, Callable[[], bytes]]``: a fixture file name (with
its extension) mapped to a function returning the file's bytes, built from fixed values.
"""
