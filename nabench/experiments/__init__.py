"""The multi-seed runner: grids of searchers x datasets x settings, worker processes, a resumable results store."""

from nabench.experiments.config import Cell, Grid, grid_from_dict, load_grid, make_cell
from nabench.experiments.runner import GridResult, run_grid

__all__ = ["Cell", "Grid", "GridResult", "grid_from_dict", "load_grid", "make_cell", "run_grid"]
