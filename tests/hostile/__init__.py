"""Deterministic generator of the hostile corpus: bombs, traps and malformed files."""
