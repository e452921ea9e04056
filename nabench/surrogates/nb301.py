"""The NAS-Bench-301 surrogate of the DARTS space: YAHPO Gym's ONNX model (v2), run with onnxruntime.

``nabench.load("nb301")`` opens it. It predicts, for CIFAR-10 and any epoch 1..98 of NB301's training
pipeline, the **validation** accuracy (percent here; the model outputs a fraction) and the training
time in seconds up to that epoch. **There is no test split**: reports on this benchmark are
surrogate validation predictions. The model is deterministic.

Decisions:

* **Files and trust.** The model (``model_v2.onnx``) and its input encoding (``encoding_v2.json``) are
  installed by ``nabench data fetch`` into ``<data>/downloads/yahpo_nb301/`` with the NB201 files (same
  mirror, same sha256 checks; their pins are in ``nabench/tables/manifest.json``). Both are verified
  against the manifest's sha256 every time they are opened, before onnxruntime or json reads a byte
  of them.
* **Encoding.** The model's ``x_cat`` columns follow yahpo-gym's ``cat_names`` order: ``edge_normal_0``
  .. ``_13``, ``edge_reduce_0`` .. ``_13``, ``inputs_node_normal_3/4/5``, ``inputs_node_reduce_3/4/5``
  (prefix ``NetworkSelectorDatasetInfo_COLON_darts_COLON_``); each value's integer code is read from
  ``encoding_v2.json`` (``#na#`` for an inactive edge), never hard-coded. An arch's digits
  (:class:`~nabench.spaces.darts.DartsSpace`) map to these columns with array gathers, so a batch of
  archs is one ``(n, 34)`` array and one ``InferenceSession.run`` call.
* **Threads.** One onnxruntime thread per session: runs go in parallel across processes, and a
  batch of a few hundred rows takes a few milliseconds on one core.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nabench.errors import ConfigError, DataNotFoundError, IntegrityError, NotAvailableError
from nabench.spaces import darts
from nabench.spaces.base import NB301_EPOCHS, TASKS, Task
from nabench.spaces.darts import DartsSpace

#: manifest names of the files the surrogate needs (model first)
FILES: tuple[str, ...] = ("yahpo_nb301/model_v2.onnx", "yahpo_nb301/encoding_v2.json")
_PREFIX = "NetworkSelectorDatasetInfo_COLON_darts_COLON_"
#: the model's categorical columns, in yahpo-gym's ``cat_names`` order (without the prefix)
CAT_NAMES: tuple[str, ...] = tuple(
    [f"edge_{c}_{e}" for c in darts.CELLS for e in range(darts.N_CELL_EDGES)]
    + [f"inputs_node_{c}_{k}" for c in darts.CELLS for k in (3, 4, 5)]
)
DATASET = "cifar10"
SPLIT = "valid"
FIDELITIES: tuple[int, ...] = tuple(range(1, NB301_EPOCHS + 1))


def _verified(path: Path, name: str) -> Path:
    from nabench.tables import manifest

    if not path.is_file():
        raise DataNotFoundError(f"the NAS-Bench-301 surrogate file {path} is not installed; run `nabench data fetch` "
                                "(it installs the surrogate with the NB201 tables; --mirror DIR without internet)")
    manifest.verify(path, manifest.source(name).sha256, f"NAS-Bench-301 surrogate file {name}",
                    "Delete it and run `nabench data fetch` again.")
    return path


class NB301Benchmark:
    """The NAS-Bench-301 surrogate as a :class:`~nabench.spaces.base.Benchmark` over the DARTS space."""

    name = "nb301"
    fidelities = FIDELITIES

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        from nabench.tables import manifest

        self.folder = Path(folder)
        self._model = _verified(self.folder / Path(FILES[0]).name, FILES[0])
        enc_path = _verified(self.folder / Path(FILES[1]).name, FILES[1])
        self.checksum = "nb301-" + manifest.source(FILES[0]).sha256[:16]
        self.space = DartsSpace()
        self.tasks: dict[str, Task] = TASKS[self.name]
        self.n_archs = self.space.size
        self._tables(json.loads(enc_path.read_text()))
        self._session: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_session"] = None  # an onnxruntime session does not pickle: a worker opens its own
        return state

    def __repr__(self) -> str:
        return f"NB301Benchmark({self.folder}, checksum {self.checksum})"

    # ------------------------------------------------------------------ encoding
    def _tables(self, enc: dict[str, dict[str, int]]) -> None:
        """Integer codes per column: ``_op_code[col, op]`` for edges, ``_pair_code[k][cell][pair]`` for inputs."""
        try:
            cols = [enc[_PREFIX + n] for n in CAT_NAMES]
            self._na = np.array([c["#na#"] for c in cols], dtype=np.int32)
            n_edges = 2 * darts.N_CELL_EDGES
            self._op_code = np.array([[cols[i][op] for op in darts.OPS] for i in range(n_edges)], dtype=np.int32)
            self._pair_code = {k: [np.array([cols[n_edges + 3 * c + k - 3][f"{i}_{j}"] for i, j in darts.PAIRS[k]],
                                            dtype=np.int32) for c in range(2)] for k in (3, 4, 5)}
        except (KeyError, TypeError) as e:
            raise IntegrityError(f"the NAS-Bench-301 encoding file lacks {e}; it is not YAHPO's encoding_v2.json. "
                                 "Delete it and run `nabench data fetch` again") from None

    def x_cat(self, archs: Any) -> np.ndarray:
        """The model's ``(n, 34)`` int32 input of arch codes (``#na#`` for inactive edges)."""
        d = self.space.encode(self.resolve(archs))
        n = len(d)
        x = np.broadcast_to(self._na, (n, len(CAT_NAMES))).copy()
        rows = np.arange(n)
        for c in range(2):
            off, ecol = c * len(darts._CELL_CARDS), c * darts.N_CELL_EDGES
            for k in range(2, 6):
                pd, o0, o1 = darts._node_digits(k)
                if pd is None:
                    src_i, src_j = np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)
                else:
                    pair = d[:, off + pd]
                    pairs = np.asarray(darts.PAIRS[k], dtype=np.int64)
                    src_i, src_j = pairs[pair, 0], pairs[pair, 1]
                    x[:, 2 * darts.N_CELL_EDGES + 3 * c + k - 3] = self._pair_code[k][c][pair]
                for src, o in ((src_i, o0), (src_j, o1)):
                    col = ecol + darts.EDGE_START[k] + src
                    x[rows, col] = self._op_code[col, d[:, off + o]]
        return x

    def resolve(self, archs: Any) -> np.ndarray:
        """Arch codes (int64) of codes or user forms (names, ``Genotype(...)`` literals, config dicts)."""
        if isinstance(archs, (str, dict, darts.Genotype)) or (isinstance(archs, (int, np.integer))
                                                              and not isinstance(archs, bool)):
            return np.array([self.space.parse(archs)], dtype=np.int64)
        a = np.asarray(archs)
        if a.dtype.kind in "iu":
            a = a.astype(np.int64).ravel()
            if a.size and (a.min() < 0 or a.max() >= self.space.size):
                raise darts.GenotypeError(f"DARTS architecture codes must lie in 0..{self.space.size - 1}")
            return a
        return np.array([self.space.parse(x) for x in archs], dtype=np.int64)

    # ------------------------------------------------------------------ queries
    def check_query(self, dataset: Any, split: Any, fidelity: Any) -> tuple[str, str, int]:
        """Validate (dataset, split, fidelity): ``cifar10``, ``valid``, an epoch 1..98."""
        from nabench import validate

        if dataset != DATASET:
            raise ConfigError(f"the NAS-Bench-301 surrogate predicts dataset 'cifar10' only, got {dataset!r}")
        if split != SPLIT:
            raise ConfigError(f"the NAS-Bench-301 surrogate has one split, 'valid' (it predicts validation accuracy; "
                              f"there is no test split), got {split!r}")
        if isinstance(fidelity, str):  # the CLI's "98" or "hp=98": plain ASCII digits only
            return DATASET, SPLIT, validate.int_string("NB301 fidelity (epoch)", fidelity.removeprefix("hp="),
                                                       minimum=1, maximum=NB301_EPOCHS)
        return DATASET, SPLIT, validate.integer("NB301 fidelity (epoch)", fidelity, minimum=1, maximum=NB301_EPOCHS)

    def _run(self, x_cat: np.ndarray, epoch: int) -> np.ndarray:
        if self._session is None:
            import onnxruntime as ort

            _verified(self._model, FILES[0])  # again: this process may not be the one that opened the benchmark
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(self._model), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        if not len(x_cat):
            return np.zeros((0, 4), dtype=np.float32)
        cont = np.full((len(x_cat), 1), float(epoch), dtype=np.float32)
        return self._session.run(None, {"x_cat": x_cat, "x_cont": cont})[0]

    def predict(self, archs: Any, *, fidelity: int) -> tuple[np.ndarray, np.ndarray]:
        """``(validation accuracy %, training time s)`` of ``archs`` at epoch ``fidelity``: one model call."""
        _, _, epoch = self.check_query(DATASET, SPLIT, fidelity)
        out = self._run(self.x_cat(archs), epoch).astype(np.float64)
        return 100.0 * out[:, 0], out[:, 2]

    def accuracy(self, archs: Any, *, dataset: str, split: str, fidelity: int, seed: Any = "mean") -> np.ndarray:
        """Predicted validation accuracy (percent); ``seed`` must be ``"mean"`` (the model is deterministic)."""
        ds, sp, epoch = self.check_query(dataset, split, fidelity)
        if not (isinstance(seed, str) and seed == "mean"):
            raise NotAvailableError("the NAS-Bench-301 surrogate is deterministic: it has no per-seed values; "
                                    "use seed='mean'")
        out = self.predict(archs, fidelity=epoch)[0]
        return out[0] if _scalar(archs) else out

    def cost(self, archs: Any, *, dataset: str, fidelity: int) -> np.ndarray:
        """Predicted training time (seconds) up to epoch ``fidelity``."""
        _, _, epoch = self.check_query(dataset, SPLIT, fidelity)
        out = self.predict(archs, fidelity=epoch)[1]
        return out[0] if _scalar(archs) else out

    def has(self, metric: str, dataset: str, split: str, fidelity: int, per_seed: bool = False) -> bool:
        """Accuracy only, no per-seed values."""
        self.check_query(dataset, split, fidelity)
        return metric == "acc" and not per_seed

    def n_seeds(self, *, dataset: str, fidelity: int) -> np.ndarray:
        raise NotAvailableError("the NAS-Bench-301 surrogate has no training seeds (it is deterministic)")


def _scalar(archs: Any) -> bool:
    return isinstance(archs, (int, np.integer, str, dict, darts.Genotype)) or np.ndim(archs) == 0


def folder(data_dir: Any = None) -> Path:
    """Where ``nabench data fetch`` installs the surrogate files."""
    from nabench.tables import paths

    return paths.downloads_dir(paths.data_dir(data_dir)) / Path(FILES[0]).parent


def install(data_dir: Any = None, mirror: Any = None, *, progress: bool = True,
            log: Any = print) -> list[Path]:
    """Fetch the surrogate files that are missing or damaged (as ``nabench data fetch`` fetches every
    manifest file: verified by sha256 before they take their names); an intact store is not rebuilt."""
    from nabench.tables import fetch, manifest, paths

    root = paths.data_dir(data_dir)
    got = []
    for name in FILES:
        path = fetch.fetch_one(manifest.source(name), paths.downloads_dir(root), paths.mirror_dir(mirror),
                               progress=progress)
        if path is None:
            log(f"  optional {name}: not available, skipped ({manifest.source(name).holds[:60]}...)")
        else:
            got.append(path)
            log(f"  {name}: ok (sha256 verified)")
    return got


def load(data_dir: Any = None) -> NB301Benchmark:
    """Open the installed surrogate (verifying both files' sha256)."""
    return NB301Benchmark(folder(data_dir))
