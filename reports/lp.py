"""Linear programs through HiGHS (`highspy`), kept alive between solves.

`Model` holds one LP, `row_low <= A x <= row_high` and `col_low <= x <= col_high`, minimising
`cost @ x`. Changing costs or bounds and solving again starts from the last optimal basis (a
warm start), so a block's many min/max solves share one factorised matrix instead of building
a new problem each time, as `scipy.optimize.linprog` does.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import highspy
import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike


class Status(enum.Enum):
    """How a solve ended, as Kanon reads HiGHS's model status."""

    OPTIMAL = "optimal"
    UNBOUNDED = "unbounded"  # the objective has no bound: the interval is infinite
    FAILED = "failed"  # infeasible, or the solver gave up


_STATUS = {
    highspy.HighsModelStatus.kOptimal: Status.OPTIMAL,
    highspy.HighsModelStatus.kUnbounded: Status.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Status.UNBOUNDED,
}
# HiGHS option values by the names its documentation gives them (HiGHS's options reference).
PRESOLVE_OFF = "off"
SIMPLEX_EDGE_WEIGHT_DEVEX = 1  # simplex_dual_edge_weight_strategy: 0 Dantzig, 1 Devex, 2 SE
NO_COST_PERTURBATION = 0.0  # dual_simplex_cost_perturbation_multiplier


_COLWISE = int(highspy.MatrixFormat.kColwise)
_MINIMIZE = int(highspy.ObjSense.kMinimize)

_FIRST = threading.Lock()
_announced = False


def _highs() -> highspy.Highs:
    """A new HiGHS instance, without the banner the first one prints to standard output.

    HiGHS prints it from its constructor, before any option can be set (ERGO-Code/HiGHS#1932),
    once per process: it would be a line of `kanon sync`'s output that says nothing to users.
    """
    global _announced
    if _announced:
        return highspy.Highs()
    with _FIRST:
        if not _announced:
            with _stdout_to_null():
                highs = highspy.Highs()
            _announced = True
            return highs
    return highspy.Highs()


@contextmanager
def _stdout_to_null() -> Iterator[None]:
    """Point file descriptor 1, which C++ writes to, at the null device for a moment."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class Model:
    """One LP in HiGHS; cheap to change and solve again."""

    def __init__(
        self,
        matrix: sp.sparray,
        row_low: np.ndarray,
        row_high: np.ndarray,
        col_low: np.ndarray,
        col_high: np.ndarray,
        cost: np.ndarray | None = None,
        presolve: bool = True,
        rounds: bool = False,
    ) -> None:
        csc = sp.csc_array(matrix)
        m, n = csc.shape
        self.n, self.m = n, m
        self.solves = 0
        self._highs = _highs()
        self._highs.setOptionValue("output_flag", False)
        if not presolve:  # a small LP solved once: presolving it costs more than it saves
            self._highs.setOptionValue("presolve", PRESOLVE_OFF)
        if rounds:  # re-solved many times, warm, with costs that break ties (attack.Block)
            self._highs.setOptionValue(
                "dual_simplex_cost_perturbation_multiplier", NO_COST_PERTURBATION
            )
            # Devex pricing: a warm re-solve's few hundred pivots cost less with its cheaper
            # iterations than with steepest edge's fewer (benchmarks/bench_protect.py).
            self._highs.setOptionValue(
                "simplex_dual_edge_weight_strategy", SIMPLEX_EDGE_WEIGHT_DEVEX
            )
        # The array form: building a HighsLp attribute by attribute costs many times more, and
        # a repair passes thousands of small models.
        status = self._highs.passModel(
            n,
            m,
            csc.nnz,
            _COLWISE,
            _MINIMIZE,
            0.0,
            np.zeros(n) if cost is None else _float(cost),
            _float(col_low),
            _float(col_high),
            _float(row_low),
            _float(row_high),
            _int(csc.indptr),
            _int(csc.indices),
            _float(csc.data),
            np.zeros(n, dtype=np.int32),  # every variable continuous
        )
        if status == highspy.HighsStatus.kError:
            raise ValueError("HiGHS refused the linear program: its arrays do not fit together")

    def set_cost(self, cols: np.ndarray, values: np.ndarray) -> None:
        if len(cols):
            self._highs.changeColsCost(len(cols), _int(cols), _float(values))

    def set_col_bounds(self, cols: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        if len(cols):
            self._highs.changeColsBounds(len(cols), _int(cols), _float(low), _float(high))

    def solve(self) -> tuple[Status, np.ndarray | None]:
        """(status, x): x is the optimal point when status is OPTIMAL, else None."""
        self.solves += 1
        self._highs.run()
        status = _STATUS.get(self._highs.getModelStatus(), Status.FAILED)
        if status is not Status.OPTIMAL:
            return status, None
        return status, np.asarray(self._highs.getSolution().col_value)


def _int(values: ArrayLike) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int32)


def _float(values: ArrayLike) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(values, np.shape(values)), dtype=float)
