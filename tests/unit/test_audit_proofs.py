"""The audit's proofs: an unchanged block is not solved again, a changed one always is."""

import numpy as np

from reports.audit import audit
from reports.cells import FIGURES
from reports.status import SECONDARY
from tests.attacks.helpers import daily_release
from tests.attacks.helpers import protect as protect_cells

K = 10
# Four weeks of browsers: Lynx and Opera are small every day, so they and their complements
# form blocks of several relations (the LPs the proofs are about).
DAILY = {
    "Chrome": [60 + (i * 7) % 11 for i in range(28)],
    "Firefox": [25 + (i * 5) % 7 for i in range(28)],
    "Opera": [3 + i % 4 for i in range(28)],
    "Lynx": [1 + i % 3 for i in range(28)],
}


def released():
    truth, release = protect_cells(daily_release(DAILY), K)
    return truth, release


def test_a_second_audit_of_the_same_release_reuses_every_block():
    _, release = released()
    first = audit(release, K)
    assert first.ok and first.counts["lps"] > 0 and first.proofs
    again = audit(release, K, proven=first.proofs)
    assert again.ok
    assert again.counts["lps"] == 0
    assert again.counts["reused"] == len(first.proofs)
    assert again.proofs == first.proofs


def test_publishing_a_complement_is_caught_despite_the_old_proofs():
    truth, release = released()
    proofs = audit(release, K).proofs
    leaky = release.copy()
    complements = np.flatnonzero((leaky["status"] == SECONDARY).to_numpy())
    assert len(complements)
    leaky.loc[complements, "status"] = "published"
    leaky.loc[complements, FIGURES] = truth.loc[complements, FIGURES].to_numpy()
    reused = audit(leaky, K, proven=proofs)
    full = audit(leaky, K)
    assert not full.ok
    assert not reused.ok
    assert reused.exposed.equals(full.exposed)


def test_a_new_day_reopens_only_the_blocks_it_touches():
    _, release = released()
    proofs = audit(release, K).proofs
    longer = {name: [*days, days[-1]] for name, days in DAILY.items()}
    _, later = protect_cells(daily_release(longer), K)
    result = audit(later, K, proven=proofs)
    assert result.ok
    assert 0 < result.counts["reused"] < len(result.proofs)
