"""The claim registry: every theorem, lemma, identity or paper number nstheory checks.

A :class:`Claim` is registered once, with its provenance, and carries :class:`Check` s, each
tagged with the independent *route* it uses. A check returns a :class:`CheckResult`: a status,
the numbers it compared (each labelled with what it is), the tolerance, the digits of agreement
or the confidence interval / z-score, and the time taken. ``nstheory verify`` runs them all.

Provenance is one of ``paper:<ref>`` (as printed), ``paper-corrected:<ref>`` (a paper
statement after a correction we document), ``reconstructed[:<ref>]`` (our reconstruction of a
statement whose source text we could not read), ``textbook:<ref>`` and ``new`` (ours).

A claim expected to be refuted (e.g. Lemma 1 as printed) has ``expect="refuted"`` and a
``refutation_kind`` (:data:`REFUTATION_KINDS`: the paper as printed, our reading of a
reconstruction, a result not reproduced in our setting, or our notes' numbers); its checks test
the statement as registered, and refutation is then the expected outcome.

Each check declares ``uses``, the code paths its compared numbers come from (not the statement
under test itself); :func:`independent_routes` counts the checks with pairwise disjoint
``uses``. Statistical checks state the alternative they must detect and their power against it
(:func:`compare_z`, :func:`attach_power`); below :data:`MIN_POWER` they are inconclusive.

Examples
--------
>>> reg = Registry()
>>> c = reg.claim("demo.two_plus_two", "2 + 2 = 4", latex=r"2+2=4", provenance="new")
>>> @c.check("exact-enumeration")
... def _():
...     return compare_exact("2+2", 2 + 2, "4", 4)
>>> outcome = run_claim(c)
>>> str(outcome.status), outcome.verdict
('verified', 'verified')
"""

from __future__ import annotations

import enum
import math
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction

import mpmath

from nstheory.errors import NSTheoryError
from nstheory.numerics import agreement_digits
from nstheory.stats import normal_cdf


class Route(enum.StrEnum):
    """The kinds of route by which a claim can be checked.

    A string enum: ``symbolic``, ``precise``, ``certified``, ``exact-enumeration`` and
    ``monte-carlo``; :data:`ROUTES` lists the values.

    Examples
    --------
    >>> Route("monte-carlo") is Route.MONTE_CARLO, Route.EXACT == "exact-enumeration"
    (True, True)
    >>> tuple(Route) == tuple(Route(r) for r in ROUTES)
    True
    """

    SYMBOLIC = "symbolic"
    PRECISE = "precise"
    CERTIFIED = "certified"
    EXACT = "exact-enumeration"
    MONTE_CARLO = "monte-carlo"


ROUTES: tuple[str, ...] = tuple(r.value for r in Route)


class Status(enum.StrEnum):
    """Outcome of one check (or, aggregated, of one claim).

    A string enum: ``verified``, ``refuted``, ``inconclusive``, ``skipped``, ``error``.

    Examples
    --------
    >>> str(Status.VERIFIED), Status("refuted") is Status.REFUTED
    ('verified', True)
    """

    VERIFIED = "verified"
    REFUTED = "refuted"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"
    ERROR = "error"


PROVENANCE_KINDS = ("paper", "paper-corrected", "reconstructed", "textbook", "new")

#: What an expected-refuted claim's refutation means. ``paper-as-printed``: the paper's printed
#: statement or number is wrong. ``our-reading``: a reading of a reconstructed statement that we
#: chose, and refute. ``not-reproduced``: a paper's empirical result fails in our reconstructed or
#: reduced setting (not an error of the paper). ``notes``: our research notes' own numbers.
REFUTATION_KINDS = ("paper-as-printed", "our-reading", "not-reproduced", "notes")

#: Power a statistical check needs against its stated alternative before it may verify.
MIN_POWER = 0.9


def check_provenance(provenance: str) -> str:
    """Validate a provenance string such as ``"paper:haris2026 §5 Thm 5.1"``.

    Parameters
    ----------
    provenance : str
        ``kind[:reference]``, kind one of :data:`PROVENANCE_KINDS`.

    Returns
    -------
    str
        The provenance, unchanged.

    Examples
    --------
    >>> check_provenance("textbook:odonnell ch.2")
    'textbook:odonnell ch.2'
    >>> check_provenance("folklore")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: provenance kind must be one of ... got 'folklore'
    """
    kind = provenance.split(":", 1)[0].strip()
    if kind not in PROVENANCE_KINDS:
        raise NSTheoryError(
            f"provenance kind must be one of {', '.join(PROVENANCE_KINDS)}; got {provenance!r}"
        )
    if kind in ("paper", "paper-corrected", "textbook") and ":" not in provenance:
        raise NSTheoryError(f"provenance {provenance!r} must name its reference after ':'")
    return provenance


@dataclass
class CheckResult:
    """What one check found.

    ``quantities`` lists ``(label, value)`` pairs: the label says what the number is (which
    view, which route, which parameters), the value is a string (exact rational, decimal with
    its digits, or an interval ``[lo, hi]``).

    Parameters
    ----------
    status : Status
        The outcome.
    quantities : list of (str, str)
        Labelled numbers compared.
    tolerance : str, optional
        The criterion, in words.
    digits : float, optional
        Agreeing (or certified) significant digits.
    ci : tuple of str, optional
        Confidence interval or enclosure ``(lo, hi)``.
    z : float, optional
        z-score of a statistical comparison.
    note : str, optional
        Free text.
    seconds, cpu_seconds, route, check, uses
        Filled in by :func:`run_check` (wall and CPU seconds of the check's process).
    alternative : str, optional
        The effect a statistical check must detect.
    power : float, optional
        Its power against that effect.

    Examples
    --------
    Results are usually built by the ``compare_*`` helpers; ``to_dict`` gives the JSON form:

    >>> r = CheckResult(Status.VERIFIED, [("exact Stab", "13/32")], tolerance="exact")
    >>> d = r.to_dict()
    >>> d["status"], d["quantities"]
    ('verified', [('exact Stab', '13/32')])
    """

    status: Status
    quantities: list[tuple[str, str]] = field(default_factory=list)
    tolerance: str | None = None
    digits: float | None = None
    ci: tuple[str, str] | None = None
    z: float | None = None
    note: str = ""
    seconds: float = 0.0
    route: str = ""
    check: str = ""
    alternative: str | None = None
    power: float | None = None
    uses: tuple[str, ...] = ()
    cpu_seconds: float = 0.0

    @property
    def short(self) -> str:
        """A compact cell for the claim matrix, e.g. ``✓ 18d`` or ``✓ z=+0.41``."""
        mark = {"verified": "✓", "refuted": "✗", "inconclusive": "?", "skipped": "-",
                "error": "E"}[self.status]
        if self.status == Status.ERROR:
            return mark
        if self.digits is not None:
            return f"{mark} {'exact' if self.digits >= 1e5 else f'{self.digits:.0f}d'}"
        if self.z is not None:
            return f"{mark} z={self.z:+.2f}"
        if self.tolerance == "exact":
            return f"{mark} exact"
        if self.ci is not None:
            return f"{mark} CI"
        return mark

    def to_dict(self) -> dict:
        d = asdict(self)
        d["status"] = str(self.status)
        if self.digits is not None and math.isinf(self.digits):
            d["digits"] = None
        return d


@dataclass
class Check:
    """One way of checking a claim: a function returning a :class:`CheckResult`.

    Usually created by the :meth:`Claim.check` decorator.

    Parameters
    ----------
    name : str
        Label of the check.
    route : Route
        Kind of route.
    fn : callable
        Zero-argument function returning a :class:`CheckResult`.
    slow : bool, optional
        Skipped by ``nstheory verify --fast``.
    uses : tuple of str, optional
        Code paths the compared quantities come from.

    Examples
    --------
    >>> chk = Check("sum", Route.EXACT, lambda: compare_exact("1+1", 1 + 1, "2", 2),
    ...             uses=("python:int",))
    >>> r = run_check(chk)
    >>> str(r.status), r.route, r.uses
    ('verified', 'exact-enumeration', ('python:int',))
    """

    name: str
    route: Route
    fn: Callable[[], CheckResult]
    slow: bool = False
    #: The code paths (dotted names such as ``"nstheory.gaussian.activations.ReLU.raw"`` or
    #: tags such as ``"typed:statement"``) that the compared quantities are computed from. Two
    #: checks are independent routes only when these sets are disjoint.
    uses: tuple[str, ...] = ()


@dataclass
class Claim:
    """A registered statement with provenance and checks.

    Create claims with :meth:`Registry.claim` (which validates the fields) and attach checks
    with the :meth:`check` decorator.

    Parameters
    ----------
    id : str
        Dotted id ``area.topic.name``.
    statement : str
        The claim in words.
    latex : str
        The claim as LaTeX.
    provenance : str
        See :func:`check_provenance`.
    expect : str, optional
        ``holds`` or ``refuted``.
    evidence : str, optional
        Where the evidence comes from.
    fast : bool, optional
        Included in fast runs.
    checks : list of Check, optional
        Attached checks.
    refutation_kind : str, optional
        One of :data:`REFUTATION_KINDS` (expected-refuted claims).
    single_evidence : str, optional
        Why only one route exists, if so.

    Examples
    --------
    >>> c = Registry().claim("demo.sq", "3^2 = 9", latex="3^2=9", provenance="new")
    >>> @c.check("exact-enumeration", name="multiply", uses=("python:int",))
    ... def _():
    ...     return compare_exact("3*3", 3 * 3, "9", 9)
    >>> c.section, [k.name for k in c.checks]
    ('demo', ['multiply'])
    """

    id: str
    statement: str
    latex: str
    provenance: str
    expect: str = "holds"
    evidence: str = ""
    fast: bool = True
    checks: list[Check] = field(default_factory=list)
    refutation_kind: str | None = None
    single_evidence: str = ""

    def check(
        self,
        route: str | Route,
        name: str | None = None,
        slow: bool = False,
        uses: Sequence[str] = (),
    ):
        """Decorator registering a zero-argument check function under ``route``.

        ``uses`` names the code paths the check's compared quantities come from; see
        :func:`independent_routes`.
        """
        route = Route(route)

        def deco(fn: Callable[[], CheckResult]):
            label = name or fn.__name__.strip("_") or route.value
            self.checks.append(Check(label, route, fn, slow, tuple(uses)))
            return fn

        return deco

    @property
    def section(self) -> str:
        return self.id.split(".", 1)[0]


class Registry:
    """A collection of claims keyed by id.

    :data:`REGISTRY` is the global one that ``nstheory verify`` runs.

    Examples
    --------
    >>> reg = Registry()
    >>> _ = reg.claim("a.one", "s", latex="s", provenance="new")
    >>> _ = reg.claim("b.two", "s", latex="s", provenance="new", fast=False)
    >>> [c.id for c in reg.select(["a.*"])], [c.id for c in reg.select(fast=True)]
    (['a.one'], ['a.one'])
    >>> reg.claim("a.one", "s", latex="s", provenance="new")
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: claim 'a.one' is registered twice
    """

    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}

    def claim(
        self,
        id: str,
        statement: str,
        *,
        latex: str,
        provenance: str,
        expect: str = "holds",
        evidence: str = "",
        fast: bool = True,
        refutation_kind: str | None = None,
        single_evidence: str = "",
    ) -> Claim:
        """Create and register a claim; ids are unique and dotted (``area.topic.name``).

        An expected-refuted claim must name its ``refutation_kind`` (one of
        :data:`REFUTATION_KINDS`), and a claim whose provenance is ``paper:`` (the paper as
        printed) may be expected refuted only as ``paper-as-printed``. A claim with a single
        line of evidence says why in ``single_evidence``.

        >>> reg = Registry()
        >>> reg.claim("t.x", "s", latex="x", provenance="new", expect="refuted")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nstheory.errors.NSTheoryError: claim 't.x' is expected refuted: refutation_kind ...
        >>> reg.claim("t.y", "s", latex="x", provenance="paper:p §1", expect="refuted",
        ...           refutation_kind="our-reading")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nstheory.errors.NSTheoryError: claim 't.y': provenance 'paper:' with expect refuted ...
        """
        if id in self.claims:
            raise NSTheoryError(f"claim {id!r} is registered twice")
        if "." not in id or " " in id:
            raise NSTheoryError(f"claim id must be dotted with no spaces, got {id!r}")
        if expect not in ("holds", "refuted"):
            raise NSTheoryError(f"expect must be 'holds' or 'refuted', got {expect!r}")
        if refutation_kind is not None and refutation_kind not in REFUTATION_KINDS:
            raise NSTheoryError(
                f"refutation_kind must be one of {', '.join(REFUTATION_KINDS)}; "
                f"got {refutation_kind!r}"
            )
        if expect == "refuted" and refutation_kind is None:
            raise NSTheoryError(
                f"claim {id!r} is expected refuted: refutation_kind must be one of "
                f"{', '.join(REFUTATION_KINDS)}; got None"
            )
        if expect == "holds" and refutation_kind is not None:
            raise NSTheoryError(
                f"claim {id!r} is expected to hold: refutation_kind must be None; "
                f"got {refutation_kind!r}"
            )
        kind = provenance.split(":", 1)[0].strip()
        if expect == "refuted" and kind == "paper" and refutation_kind != "paper-as-printed":
            raise NSTheoryError(
                f"claim {id!r}: provenance 'paper:' with expect refuted needs refutation_kind "
                f"'paper-as-printed' (use 'reconstructed' or 'paper-corrected' for "
                f"{refutation_kind!r}); got {refutation_kind!r}"
            )
        c = Claim(id, statement, latex, check_provenance(provenance), expect, evidence, fast,
                  refutation_kind=refutation_kind, single_evidence=single_evidence)
        self.claims[id] = c
        return c

    def select(self, patterns: Sequence[str] | None = None, fast: bool = False) -> list[Claim]:
        """Claims whose id matches any glob in ``patterns`` (all when None), sorted by id."""
        from fnmatch import fnmatchcase

        out = []
        for cid in sorted(self.claims):
            c = self.claims[cid]
            if patterns and not any(fnmatchcase(cid, p) for p in patterns):
                continue
            if fast and not c.fast:
                continue
            out.append(c)
        return out


#: The global registry that ``proofs_check`` fills.
REGISTRY = Registry()
claim = REGISTRY.claim


@dataclass
class ClaimOutcome:
    """All check results of one claim and the verdict against its expectation.

    Parameters
    ----------
    claim : Claim
        The claim.
    results : list of CheckResult
        Its checks' results.

    Examples
    --------
    A claim expected to be refuted whose check refutes it is as expected:

    >>> c = Registry().claim("demo.bad", "1 = 2", latex="1=2", provenance="new",
    ...                      expect="refuted", refutation_kind="notes")
    >>> @c.check("exact-enumeration")
    ... def _():
    ...     return compare_exact("1", 1, "2", 2)
    >>> out = run_claim(c)
    >>> str(out.status), out.verdict, out.as_expected
    ('refuted', 'refuted (as expected)', True)
    """

    claim: Claim
    results: list[CheckResult]

    @property
    def status(self) -> str:
        """Aggregate status of the checks: error > refuted > inconclusive > verified.

        For an expected-refuted claim, a single refuting check refutes it and any verifying
        check contradicts the expectation.
        """
        sts = [r.status for r in self.results]
        if not sts:
            return Status.INCONCLUSIVE
        if Status.ERROR in sts:
            return Status.ERROR
        if all(st == Status.SKIPPED for st in sts):
            return Status.SKIPPED
        sts = [st for st in sts if st != Status.SKIPPED]
        if self.claim.expect == "refuted":
            if Status.VERIFIED in sts:
                return Status.VERIFIED
            if Status.REFUTED in sts:
                return Status.REFUTED
            return Status.INCONCLUSIVE
        if Status.REFUTED in sts:
            return Status.REFUTED
        if Status.INCONCLUSIVE in sts:
            return Status.INCONCLUSIVE
        return Status.VERIFIED

    @property
    def as_expected(self) -> bool | None:
        """True if the outcome matches the expectation, False if it contradicts it, None if
        inconclusive, skipped or errored (a check error is not evidence either way; it is
        counted, and fails ``verify``, separately)."""
        st = self.status
        if st in (Status.ERROR, Status.INCONCLUSIVE, Status.SKIPPED):
            return None
        want = Status.VERIFIED if self.claim.expect == "holds" else Status.REFUTED
        return st == want

    @property
    def verdict(self) -> str:
        st = self.status
        if st == Status.ERROR:
            return "ERROR"
        if st == Status.INCONCLUSIVE:
            return "inconclusive"
        if st == Status.SKIPPED:
            return "skipped (data source absent)"
        if self.claim.expect == "refuted":
            if st == Status.REFUTED:
                return "refuted (as expected)"
            return "FAIL: holds, expected refuted"
        return "verified" if st == Status.VERIFIED else "FAIL: refuted"

    def to_dict(self) -> dict:
        c = self.claim
        return {
            "id": c.id,
            "statement": c.statement,
            "latex": c.latex,
            "provenance": c.provenance,
            "expect": c.expect,
            "evidence": c.evidence,
            "status": str(self.status),
            "verdict": self.verdict,
            "as_expected": self.as_expected,
            "refutation_kind": c.refutation_kind,
            "independent_routes": self.independent_routes,
            "single_evidence": c.single_evidence or None,
            "checks": [r.to_dict() for r in self.results],
        }

    @property
    def independent_routes(self) -> int:
        """Number of pairwise independent decided checks (see :func:`independent_routes`)."""
        return independent_routes(self.results)


def run_check(chk: Check) -> CheckResult:
    """Run one check, timing it and turning an exception into an ``error`` result.

    Parameters
    ----------
    chk : Check
        The check to run.

    Returns
    -------
    CheckResult
        A copy of the check's result with ``seconds``, ``route``, ``check`` and ``uses`` set.

    Examples
    --------
    >>> r = run_check(Check("boom", Route.SYMBOLIC, lambda: 1 / 0))
    >>> str(r.status), r.note.splitlines()[0]
    ('error', 'ZeroDivisionError: division by zero')
    """
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        res = chk.fn()
        if not isinstance(res, CheckResult):
            raise TypeError(f"check {chk.name!r} returned {type(res).__name__}, not CheckResult")
        res = replace(res)  # a copy: a result object returned twice keeps each run's fields
    except Exception as exc:
        res = CheckResult(
            Status.ERROR, note=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        )
    res.seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    res.route = chk.route.value
    res.check = chk.name
    res.uses = chk.uses
    return res


def run_claim(c: Claim, fast: bool = False) -> ClaimOutcome:
    """Run every check of ``c`` (skipping ``slow`` checks when ``fast``).

    Parameters
    ----------
    c : Claim
        The claim.
    fast : bool, optional
        Skip checks registered with ``slow=True``.

    Returns
    -------
    ClaimOutcome

    Examples
    --------
    >>> c = Registry().claim("demo.sum", "1 + 1 = 2", latex="1+1=2", provenance="new")
    >>> @c.check("exact-enumeration", uses=("python:int",))
    ... def _():
    ...     return compare_exact("1+1", 1 + 1, "2", 2)
    >>> @c.check("precise", slow=True, uses=("python:float",))
    ... def _():
    ...     return compare_digits("1.0+1.0", 1.0 + 1.0, "2", 2.0, 15)
    >>> len(run_claim(c).results), len(run_claim(c, fast=True).results)
    (2, 1)
    >>> run_claim(c).independent_routes
    2
    """
    return ClaimOutcome(c, [run_check(k) for k in c.checks if not (fast and k.slow)])


# --------------------------------------------------------------------------------------
# Result constructors: each turns a comparison into a CheckResult with an honest status.
# --------------------------------------------------------------------------------------


def _s(x) -> str:
    if isinstance(x, tuple | list):
        return "(" + ", ".join(_s(v) for v in x) + ")"
    if isinstance(x, Fraction):
        return str(x)
    if isinstance(x, mpmath.mpf):
        bits = x._mpf_[3]  # the mantissa's bit count: show the digits the number carries
        return mpmath.nstr(x, max(15, min(80, int(bits * 0.30103))))
    return str(x)


def compare_exact(label_a: str, a, label_b: str, b, note: str = "") -> CheckResult:
    """Verified iff ``a == b`` exactly (integers, Fractions, SymPy expressions).

    SymPy expressions are compared by ``simplify(a - b) == 0``.

    Parameters
    ----------
    label_a, label_b : str
        What each value is (route, view, parameters).
    a, b
        The values.
    note : str, optional
        Free text kept with the result.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> r = compare_exact("expanded", (x + 1) ** 2, "by hand", x**2 + 2 * x + 1)
    >>> str(r.status), r.digits
    ('verified', inf)
    >>> str(compare_exact("a", Fraction(1, 3), "b", Fraction(2, 6)).status)
    'verified'
    >>> str(compare_exact("a", Fraction(1, 3), "b", Fraction(1, 4)).status)
    'refuted'
    """
    equal = a == b
    if not equal and (hasattr(a, "free_symbols") or hasattr(b, "free_symbols")):
        import sympy

        equal = sympy.simplify(sympy.sympify(a) - sympy.sympify(b)) == 0
    return CheckResult(
        Status.VERIFIED if equal else Status.REFUTED,
        [(label_a, _s(a)), (label_b, _s(b))],
        tolerance="exact",
        digits=float("inf") if equal else None,
        note=note,
    )


def compare_digits(
    label_a: str, a, label_b: str, b, min_digits: float, note: str = ""
) -> CheckResult:
    """Verified iff ``a`` and ``b`` agree to at least ``min_digits`` significant digits.

    Use for two *independent* high-precision routes (closed form vs quadrature). The result
    carries the number of agreeing digits.

    Parameters
    ----------
    label_a, label_b : str
        What each value is.
    a, b : number or mpmath.mpf
        The values.
    min_digits : float
        Significant digits required.
    note : str, optional
        Free text kept with the result.

    Returns
    -------
    CheckResult

    Examples
    --------
    ``pi`` by Machin's formula against mpmath's constant, at 30 digits:

    >>> with mpmath.workdps(30):
    ...     machin = 16 * mpmath.atan(mpmath.mpf(1) / 5) - 4 * mpmath.atan(mpmath.mpf(1) / 239)
    ...     r = compare_digits("Machin", machin, "mpmath.pi", +mpmath.pi, 25)
    >>> str(r.status), r.digits >= 25
    ('verified', True)
    >>> str(compare_digits("22/7", 22 / 7, "pi", math.pi, 6).status)
    'refuted'
    """
    d = agreement_digits(a, b)
    return CheckResult(
        Status.VERIFIED if d >= min_digits else Status.REFUTED,
        [(label_a, _s(a)), (label_b, _s(b))],
        tolerance=f">= {min_digits:g} agreeing digits",
        digits=d,
        note=note,
    )


def compare_enclosure(
    label_ball: str, ball, label_value: str, value, note: str = ""
) -> CheckResult:
    """Verified iff the arb ``ball`` contains ``value`` (a string, mpf, Fraction or number
    given to more digits than the ball's radius resolves).

    A claim is refuted only if the ball provably excludes the value.

    Parameters
    ----------
    label_ball, label_value : str
        What the ball and the value are.
    ball : flint.arb
        A certified enclosure.
    value : str, mpmath.mpf, Fraction or number
        The value to test.
    note : str, optional
        Free text kept with the result.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> from flint import arb
    >>> r = compare_enclosure("arb pi", arb.pi(), "pi to 30 digits",
    ...                       "3.14159265358979323846264338328")
    >>> str(r.status)
    'verified'
    >>> str(compare_enclosure("arb pi", arb.pi(), "22/7", Fraction(22, 7)).status)
    'refuted'
    >>> str(compare_enclosure("arb pi", arb.pi(), "NaN", float("nan")).status)
    'error'
    """
    from flint import arb

    from nstheory.numerics import arb_precision, ball_bounds

    with arb_precision(bits=max(256, 4 * len(_s(value)) + 64)):
        if isinstance(value, Fraction):
            v = arb(value.numerator) / value.denominator
        elif isinstance(value, mpmath.mpf):
            v = arb(mpmath.nstr(value, int(mpmath.mp.dps) + 5))
        else:
            v = arb(str(value))
        inside = ball.contains(v) if v.rad() == 0 else ball.overlaps(v)
    if not (ball.is_finite() and v.is_finite()):
        # an infinite or NaN ball "contains" everything and a NaN value overlaps every ball:
        # neither is evidence, and a route that produced one is broken
        return CheckResult(
            Status.ERROR, [(label_ball, str(ball)), (label_value, _s(value))],
            tolerance="containment needs a finite ball and a finite value", note=note)
    lo, hi = ball_bounds(ball, 25)
    rad = float(ball.rad())
    return CheckResult(
        Status.VERIFIED if inside else Status.REFUTED,
        [(label_ball, f"[{lo}, {hi}]"), (label_value, _s(value))],
        tolerance=f"containment (ball radius {rad:.2e})",
        ci=(lo, hi),
        digits=_ball_digits(ball),
        note=note,
    )


def _ball_digits(ball) -> float | None:
    """Certified significant digits of a ball: -log10(rad / |mid|)."""
    mid, rad = abs(float(ball.mid())), float(ball.rad())
    if rad == 0:
        return float("inf")
    if mid == 0:
        return max(0.0, -math.log10(rad))
    return max(0.0, -math.log10(rad / mid))


def z_power(effect: float, stderr: float, zmax: float = 4.0) -> float:
    """Power of the two-sided test ``|z| > zmax`` to detect a true shift of ``effect``.

    With ``z ~ N(effect / stderr, 1)`` under the alternative, the power is
    ``P(|z| > zmax)``.

    Parameters
    ----------
    effect : float
        True shift, in the units of the estimate.
    stderr : float
        Standard error of the estimate.
    zmax : float, optional
        Critical ``|z|``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(z_power(0.0, 1.0, 1.959964), 3)      # no effect: the false-alarm rate
    0.05
    >>> z_power(10.0, 1.0) > 0.999
    True
    >>> round(z_power(1.0, 1.0, 4.0), 5)
    0.00135
    """
    if not stderr > 0:
        return 1.0 if effect else 0.0
    m = abs(effect) / stderr
    return normal_cdf(m - zmax) + normal_cdf(-m - zmax)


def one_sided_power(effect: float, stderr: float, crit: float) -> float:
    """Power of a one-sided test that rejects when ``estimate / stderr > crit``, against a
    true value ``effect`` (normal approximation of the statistic): ``Phi(effect/stderr - crit)``.

    Parameters
    ----------
    effect : float
        True value of the statistic's mean.
    stderr : float
        Its standard error.
    crit : float
        Critical value of ``estimate / stderr``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(one_sided_power(0.0, 1.0, 1.644854), 3)   # no effect: the level
    0.05
    >>> round(one_sided_power(3.0, 1.0, 1.0), 4)
    0.9772
    """
    if not stderr > 0 or math.isnan(stderr):
        return 0.0
    return normal_cdf(effect / stderr - crit)


def compare_z(
    label_est: str,
    mean: float,
    stderr: float,
    n: int,
    label_theory: str,
    theory: float,
    zmax: float = 4.0,
    note: str = "",
    alternative: str | None = None,
    effect: float | None = None,
) -> CheckResult:
    """Monte Carlo vs theory by z-score: verified iff ``|mean - theory| <= zmax * stderr``.

    ``zmax = 4`` makes a false alarm across a few hundred checks unlikely (two-sided
    p = 6.3e-5) while a real discrepancy of a few standard errors is flagged as refuted.

    ``alternative`` says in words which effect the check exists to detect and ``effect`` is
    its size (in the units of ``mean``, fixed before the run, never from ``stderr``). The
    power against it is reported; a check that would verify with power below
    :data:`MIN_POWER` is ``inconclusive`` instead.

    Parameters
    ----------
    label_est, label_theory : str
        What the estimate and the theoretical value are.
    mean, stderr : float
        The estimate and its standard error.
    n : int
        Sample size.
    theory : float
        Theoretical value.
    zmax : float, optional
        Largest ``|z|`` that verifies.
    note : str, optional
        Free text kept with the result.
    alternative : str, optional
        The effect the check must detect, in words.
    effect : float, optional
        Its size, fixed in advance.

    Returns
    -------
    CheckResult

    Examples
    --------
    An estimate 1.5 standard errors from theory verifies when the check has power against the
    stated effect (a shift of 0.05 is 10 standard errors), and is inconclusive when it has
    not:

    >>> r = compare_z("MC Stab", 0.5075, 0.005, 40_000, "exact Stab", 0.5,
    ...               alternative="Stab off by 0.05", effect=0.05)
    >>> str(r.status), round(r.z, 6), r.power > 0.99
    ('verified', 1.5, True)
    >>> str(compare_z("MC", 0.5075, 0.005, 40_000, "exact", 0.5, effect=0.01).status)
    'inconclusive'
    >>> str(compare_z("MC", 0.53, 0.005, 40_000, "exact", 0.5).status)   # z = 6
    'refuted'
    """
    if not (stderr > 0) or math.isnan(mean):
        return CheckResult(Status.ERROR, note=f"invalid estimate mean={mean} stderr={stderr}")
    z = (mean - float(theory)) / stderr
    power = None if effect is None else z_power(effect, stderr, zmax)
    status = Status.VERIFIED if abs(z) <= zmax else Status.REFUTED
    if status == Status.VERIFIED and power is not None and power < MIN_POWER:
        status = Status.INCONCLUSIVE
    return CheckResult(
        status,
        [
            (label_est, f"{mean:.6g} ± {stderr:.2g} (n={n})"),
            (label_theory, _s(theory)),
        ],
        tolerance=f"|z| <= {zmax:g}",
        ci=(f"{mean - 1.96 * stderr:.6g}", f"{mean + 1.96 * stderr:.6g}"),
        z=z,
        note=note,
        alternative=alternative,
        power=power,
    )


def attach_power(res: CheckResult, alternative: str, power: float) -> CheckResult:
    """Record on a statistical check that is not a z-comparison (a bootstrap, a permutation
    test, a one-sided bound) the ``alternative`` it must detect and its ``power`` against it,
    computed by the caller before looking at the outcome (e.g. a normal approximation of the
    test statistic under the alternative). A would-be ``verified`` with power below
    :data:`MIN_POWER` becomes ``inconclusive``.

    Parameters
    ----------
    res : CheckResult
        The result (modified in place).
    alternative : str
        The effect the check must detect, in words.
    power : float
        Power against it, computed before the outcome.

    Returns
    -------
    CheckResult
        ``res``.

    Examples
    --------
    >>> r = attach_power(compare_holds(True, []), "a gap of 0.1", 0.5)
    >>> str(r.status), r.power
    ('inconclusive', 0.5)
    >>> str(attach_power(compare_holds(True, []), "a gap of 0.1", 0.97).status)
    'verified'
    """
    res.alternative = alternative
    res.power = float(power)
    if res.status == Status.VERIFIED and res.power < MIN_POWER:
        res.status = Status.INCONCLUSIVE
    return res


def compare_holds(
    holds: bool,
    quantities: Iterable[tuple[str, object]],
    tolerance: str | None = None,
    note: str = "",
    inconclusive: bool = False,
) -> CheckResult:
    """A generic check: verified iff ``holds`` (inequalities, monotonicity, limits...).

    Pass ``inconclusive=True`` when the evidence can decide neither way.

    Parameters
    ----------
    holds : bool
        Whether the property holds.
    quantities : iterable of (str, object)
        Labelled numbers behind the decision.
    tolerance : str, optional
        The criterion in words.
    note : str, optional
        Free text kept with the result.
    inconclusive : bool, optional
        Force ``inconclusive``.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> r = compare_holds(math.sqrt(2) < 1.5, [("sqrt(2)", math.sqrt(2))], tolerance="< 1.5")
    >>> str(r.status), r.quantities
    ('verified', [('sqrt(2)', '1.4142135623730951')])
    >>> str(compare_holds(True, [], inconclusive=True).status)
    'inconclusive'
    """
    status = (
        Status.INCONCLUSIVE if inconclusive else (Status.VERIFIED if holds else Status.REFUTED)
    )
    return CheckResult(status, [(k, _s(v)) for k, v in quantities], tolerance=tolerance, note=note)


def independent_routes(results: Sequence[CheckResult]) -> int:
    """The largest number of checks in ``results`` with pairwise disjoint ``uses``.

    Only checks that decided (verified or refuted) count, and only checks that declare their
    code paths; two checks that share a code path for the compared quantity are one route.

    Parameters
    ----------
    results : sequence of CheckResult
        Check results with ``uses``.

    Returns
    -------
    int

    Examples
    --------
    >>> a = CheckResult(Status.VERIFIED, uses=("closed_form",))
    >>> b = CheckResult(Status.VERIFIED, uses=("quadrature",))
    >>> c = CheckResult(Status.VERIFIED, uses=("closed_form", "arb"))
    >>> independent_routes([a, b, c])
    2
    """
    sets = [frozenset(r.uses) for r in results
            if r.uses and r.status in (Status.VERIFIED, Status.REFUTED)]
    best = 0

    def grow(i: int, taken: frozenset, count: int) -> None:
        nonlocal best
        best = max(best, count)
        if i == len(sets) or count + len(sets) - i <= best:
            return
        if not (sets[i] & taken):
            grow(i + 1, taken | sets[i], count + 1)
        grow(i + 1, taken, count)

    grow(0, frozenset(), 0)
    return best


def no_stored_measurement(what: str) -> CheckResult:
    """Inconclusive result of a check whose stored measurement (e.g. a study file) is absent.

    Parameters
    ----------
    what : str
        What is missing.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> no_stored_measurement("training_x.json absent").status.name
    'INCONCLUSIVE'
    """
    return compare_holds(False, [("stored study", what)], inconclusive=True,
                         note="no measurement stored yet")
