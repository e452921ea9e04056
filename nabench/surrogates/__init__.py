"""Surrogate benchmarks: spaces too large for a table, answered by a fitted model (:mod:`.nb301`)."""
