"""Search spaces: the NAS-Bench-201 cell (:mod:`.nb201`), DARTS genotypes (:mod:`.darts`), the NATS size
space (:mod:`.nats_sss`), behind the protocol of :mod:`.base`.
"""

from __future__ import annotations

from typing import Any

from nabench.errors import ConfigError

#: ``--space`` values -> the benchmark that answers for that space (one table for every command)
SPACE_BENCHMARK: dict[str, str] = {"201": "nb201", "nb201": "nb201", "301": "nb301", "nb301": "nb301",
                                   "darts": "nb301", "sss": "nats-sss", "nats-sss": "nats-sss"}


#: Longest ARCH text read (an NB301 configuration as JSON, the longest form, is about 2,000 characters).
MAX_ARCH_CHARS = 10_000


def benchmark_name(space: str) -> str:
    """The benchmark of a ``--space`` value (``201`` -> ``nb201``, ``301``/``darts`` -> ``nb301``, ``sss``)."""
    key = str(space).strip().lower()
    if key not in SPACE_BENCHMARK:
        from nabench import benchmarks

        benchmarks.ensure_loaded()  # installed benchmark plugins add their names
    if key not in SPACE_BENCHMARK:
        raise ConfigError(f"unknown space {space!r}; choose 201 (NAS-Bench-201), 301 or darts (the DARTS space on "
                          "the NAS-Bench-301 surrogate) or sss (the NATS size space, after importing its folder)"
                          + "".join(f", or {k}" for k, v in SPACE_BENCHMARK.items() if k == v and k not in (
                              "nb201", "nb301", "nats-sss")))
    return SPACE_BENCHMARK[key]


def parse_arch(space: Any, text: Any) -> int:
    """THE architecture parser of the command line: ``space.parse`` on an ARCH argument, one-line errors.

    ``space`` is a :class:`~nabench.spaces.base.SearchSpace` (``bench.space``). NB201 accepts an official
    index or string; DARTS ``darts-v1``/``darts-v2``, a ``Genotype(...)`` literal, an NB301 config as
    JSON or a code; sss an index or ``c1:c2:c3:c4:c5``.
    """
    from nabench import validate

    value = text.strip() if isinstance(text, str) else text
    if isinstance(value, str) and not value:
        raise ConfigError("ARCH is empty; give an architecture (e.g. an index, or darts-v2 on --space 301)")
    if isinstance(value, str) and len(value) > MAX_ARCH_CHARS:
        raise ConfigError(f"ARCH {validate.brief(value)} is longer than the {MAX_ARCH_CHARS} characters any "
                          "architecture needs; is it the right argument?")
    return int(space.parse(value))
