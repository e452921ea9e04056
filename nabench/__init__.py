"""nabench: neighborhood-aware neural architecture search on tabular benchmarks."""

__version__ = "0.1.0"
