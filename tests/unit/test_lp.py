"""reports/lp.py: HiGHS models solved again from their last basis, and solved quietly."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SOLVE_TWICE = """
import numpy as np, scipy.sparse as sp
from reports import lp
print("before", flush=True)
model = lp.Model(sp.csr_array(np.array([[1.0, 1.0]])), row_low=np.array([3.0]),
                 row_high=np.array([3.0]), col_low=np.zeros(2), col_high=np.full(2, 5.0),
                 cost=np.array([1.0, 2.0]))
first = model.solve()
model.set_cost(np.array([0, 1]), np.array([2.0, 1.0]))
again = model.solve()
print("after", first[0].value, first[1].tolist(), again[0].value, again[1].tolist())
"""


def test_models_solve_again_with_new_costs_and_print_nothing_of_their_own():
    run = subprocess.run(
        [sys.executable, "-c", SOLVE_TWICE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    # No HiGHS banner: a sync's output is Kanon's own lines only.
    assert run.stdout.splitlines() == [
        "before",
        "after optimal [3.0, 0.0] optimal [0.0, 3.0]",
    ]
