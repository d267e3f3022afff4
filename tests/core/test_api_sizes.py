"""Library functions given absurd sizes refuse at once instead of running for hours (each of
these ran past 5-20 s with no end in sight before its cap)."""

import pytest

from nstheory.errors import NSTheoryError


def test_absurd_sizes_are_refused_at_once():
    from nstheory.gaussian.symbolic import kappa_series, mehler_eigen
    from nstheory.propagation.recurrence import paper_relu_recurrence
    from nstheory.spectrum.cube import word_counts
    from nstheory.spectrum.learning import predicted_curves

    for call in (lambda: kappa_series(order=10**400), lambda: mehler_eigen(10**400),
                 lambda: paper_relu_recurrence(0.5, 10**308), lambda: word_counts(4, 2, 10**9),
                 lambda: predicted_curves([0.5], 0.1, 10**308)):
        with pytest.raises(NSTheoryError, match="must be <="):
            call()
    assert word_counts(3, 1, 3) == 7 and mehler_eigen(3) == 0
