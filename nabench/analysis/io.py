"""Reading and writing the analysis outputs (study tables) without ever leaving a half-written file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nabench.atomic import atomic_write
from nabench.errors import ConfigError, DataNotFoundError, IntegrityError

STUDY_GLOB = "flatness_*_*.csv"


def study_table_path(out_dir: str | Path, dataset: str, fidelity: int) -> Path:
    """Where the study table of one dataset and fidelity goes: ``out_dir/flatness_<dataset>_<fidelity>.csv``."""
    return Path(out_dir) / f"flatness_{dataset}_{int(fidelity)}.csv"


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to ``path`` atomically (temp file + rename): an interrupted write keeps the old file."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the output folder {p.parent}: {e.strerror}; pick another --out") from e
    with atomic_write(p, "w", newline="") as f:
        df.to_csv(f, index=False, float_format="%.6g")
    return p


def read_study_tables(folder: str | Path) -> pd.DataFrame:
    """All study tables (``flatness_*_*.csv``) in ``folder``, concatenated."""
    d = Path(folder)
    if not d.is_dir():
        raise DataNotFoundError(f"{d} is not a folder; pass the --out folder of `nabench analyze flatness`")
    files = sorted(d.glob(STUDY_GLOB))
    if not files:
        raise DataNotFoundError(
            f"no study tables ({STUDY_GLOB}) in {d}; make them with `nabench analyze flatness --dataset D --fidelity F --out {d}`"
        )
    parts = []
    for f in files:
        try:
            t = pd.read_csv(f)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise IntegrityError(f"{f} is not a readable study table ({e}); remake it with `nabench analyze flatness`") from e
        need = {"dataset", "fidelity", "dedup", "subset", "predictor", "kendall_tau"}
        if not need <= set(t.columns):
            raise IntegrityError(f"{f} lacks the columns {sorted(need - set(t.columns))}; remake it with `nabench analyze flatness`")
        parts.append(t)
    return pd.concat(parts, ignore_index=True)
