"""Per-layer table of mean-field, 1/width-corrected and Monte Carlo stability at one width.

:func:`finite_width_table` joins :func:`~nstheory.propagation.finite_width.finite_width_recursion`
with (optionally) the Monte Carlo of :func:`~nstheory.propagation.torch_model.monte_carlo` in
the *normalised* view (mean over networks of the per-network cosine over ``per_net`` input pairs
and all channels, exactly the statistic the recursion corrects) and, when given, the raw-view
Monte Carlo means. Each row says whether the corrected and the mean-field values lie inside the
Monte Carlo 95% confidence interval.

>>> from nstheory.propagation.model import mlp
>>> rows = finite_width_table(mlp(2), 0.9, width=256)
>>> rows[1].layer, round(rows[1].corrected_normalised, 6)
(2, 0.91752)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nstheory.errors import check_int
from nstheory.propagation.finite_width import finite_width_recursion
from nstheory.propagation.model import Model


@dataclass
class FiniteWidthLayer:
    """One block at width ``width``.

    Views: raw ``E[h(X) h(Y)]``; normalised = per-network cosine averaged over
    networks. The Monte Carlo fields stay ``None`` when nothing was sampled.

    Parameters
    ----------
    layer, width : int
        Block index (1-based) and width.
    mean_field_raw, corrected_raw, remainder_scale_raw : float
        Raw view: mean field, ``1/width``-corrected value, heuristic remainder size.
    mean_field_normalised, corrected_normalised, remainder_scale_normalised : float
        The same in the normalised view.
    coef_normalised : float
        The ``1/width`` coefficient of the normalised view.
    mc_normalised_mean, mc_normalised_stderr, mc_normalised_ci95 : optional
        Monte Carlo mean, standard error and 95% interval (normalised view).
    corrected_in_ci95, mean_field_in_ci95 : bool, optional
        Whether each prediction lies in that interval.
    z_corrected, z_mean_field : float, optional
        Their distances from the Monte Carlo mean in standard errors.
    mc_raw_mean, mc_raw_stderr : float, optional
        Monte Carlo mean and standard error in the raw view.
    leakage_raw, leakage_raw_stderr, leakage_normalised, leakage_normalised_stderr : optional
        The identity attention pattern's leakage correction
        (:mod:`~nstheory.propagation.identity_leakage`, sampled) and its standard error.
    offdiag_weight : float, optional
        The sampled mean off-diagonal attention weight of the block.
    corrected_leak_raw, corrected_leak_normalised : float, optional
        ``corrected + leakage`` in each view.
    corrected_leak_in_ci95, z_corrected_leak : optional
        That prediction against the Monte Carlo (normalised view).

    Examples
    --------
    >>> from nstheory.propagation.model import mlp
    >>> row = finite_width_table(mlp(1), 0.5, 64)[0]
    >>> d = row.to_dict()
    >>> d["width"], d["mc_normalised_mean"] is None
    (64, True)
    """

    layer: int
    width: int
    mean_field_raw: float
    corrected_raw: float
    remainder_scale_raw: float
    mean_field_normalised: float
    corrected_normalised: float
    remainder_scale_normalised: float
    coef_normalised: float
    mc_normalised_mean: float | None = None
    mc_normalised_stderr: float | None = None
    mc_normalised_ci95: tuple | None = None
    corrected_in_ci95: bool | None = None
    mean_field_in_ci95: bool | None = None
    z_corrected: float | None = None
    z_mean_field: float | None = None
    mc_raw_mean: float | None = None
    mc_raw_stderr: float | None = None
    leakage_raw: float | None = None
    leakage_raw_stderr: float | None = None
    leakage_normalised: float | None = None
    leakage_normalised_stderr: float | None = None
    offdiag_weight: float | None = None
    corrected_leak_raw: float | None = None
    corrected_leak_normalised: float | None = None
    corrected_leak_in_ci95: bool | None = None
    z_corrected_leak: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def finite_width_table(model: Model, rho: float, width: int, per_net: int = 100,
                       mc_normalised=None, mc_raw=None, leakage=None) -> list[FiniteWidthLayer]:
    """Finite-width rows for every block of ``model``.

    Parameters
    ----------
    model : Model
        An MLP stack.
    rho : float
        Input correlation in ``[0, 1)``.
    width : int
        Network width, at least 2.
    per_net : int, optional
        Input pairs per random network in the statistic.
    mc_normalised, mc_raw : list of Moments, optional
        Per-block :class:`nstheory.stats.Moments` of the Monte Carlo in those views.
    leakage : list of LeakageRow, optional
        Per-block identity-pattern leakage correction
        (:func:`~nstheory.propagation.identity_leakage.identity_leakage`): fills the
        ``leakage_*`` and ``corrected_leak_*`` fields.

    Returns
    -------
    list of FiniteWidthLayer

    Examples
    --------
    The corrected value is the mean field plus ``coef / width``:

    >>> import math
    >>> from nstheory.propagation.model import mlp
    >>> rows = finite_width_table(mlp(2), 0.5, 32)
    >>> r = rows[-1]
    >>> len(rows), math.isclose(r.corrected_normalised,
    ...                         r.mean_field_normalised + r.coef_normalised / 32)
    (2, True)
    >>> finite_width_table(mlp(2), 0.5, 1)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: width must be >= 2, got 1
    """
    width = check_int(width, "width", lo=2)
    rows = []
    for i, r in enumerate(finite_width_recursion(model, rho, per_net=per_net)):
        row = FiniteWidthLayer(
            r.layer, width, r.mean_field_raw, r.corrected_raw(width),
            r.remainder_scale(width, "raw"), r.mean_field_normalised,
            r.corrected_normalised(width), r.remainder_scale(width), r.coef_normalised)
        if mc_normalised is not None:
            m = mc_normalised[i]
            lo, hi = m.ci(0.95)   # Student-t over the networks (few networks: wider than 1.96)
            row.mc_normalised_mean, row.mc_normalised_stderr = m.mean, m.stderr
            row.mc_normalised_ci95 = (lo, hi)
            row.corrected_in_ci95 = lo <= row.corrected_normalised <= hi
            row.mean_field_in_ci95 = lo <= row.mean_field_normalised <= hi
            row.z_corrected = (m.mean - row.corrected_normalised) / m.stderr
            row.z_mean_field = (m.mean - row.mean_field_normalised) / m.stderr
        if mc_raw is not None:
            row.mc_raw_mean, row.mc_raw_stderr = mc_raw[i].mean, mc_raw[i].stderr
        if leakage is not None:
            lk = leakage[i]
            row.leakage_raw, row.leakage_raw_stderr = lk.raw.mean, lk.raw.stderr
            row.leakage_normalised = lk.normalised.mean
            row.leakage_normalised_stderr = lk.normalised.stderr
            row.offdiag_weight = lk.offdiag_weight
            row.corrected_leak_raw = row.corrected_raw + lk.raw.mean
            row.corrected_leak_normalised = row.corrected_normalised + lk.normalised.mean
            if mc_normalised is not None:
                lo, hi = row.mc_normalised_ci95
                row.corrected_leak_in_ci95 = lo <= row.corrected_leak_normalised <= hi
                row.z_corrected_leak = ((row.mc_normalised_mean - row.corrected_leak_normalised)
                                        / row.mc_normalised_stderr)
        rows.append(row)
    return rows


__all__ = ["FiniteWidthLayer", "finite_width_table"]
