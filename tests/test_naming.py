"""Names a newcomer reads in results: one spelling per dataset (``ImageNet16-120``)."""

from __future__ import annotations

import re
from pathlib import Path

from nabench.oneshot import lookup
from nabench.spaces.base import TASKS

REPO = Path(__file__).resolve().parents[1]


def test_oneshot_lookup_columns_name_datasets_as_the_tasks_do():
    cols = lookup.columns("cifar10")
    assert {c.rsplit("_", 2)[0] for c in cols if c.count("_") == 2} == set(TASKS["nb201"])
    assert "ImageNet16-120_test_200" in cols


def test_no_module_writes_an_imagenet16_underscore_name():
    """No string literal names a dataset ``imagenet16`` (module names of the image loader are not strings)."""
    pattern = re.compile(r"[\"']imagenet16(_|[\"'])")
    bad = [str(p.relative_to(REPO)) for p in (REPO / "nabench").rglob("*.py") if pattern.search(p.read_text())]
    assert bad == []
