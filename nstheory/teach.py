"""Exercise checkers for the course: say right or wrong, and why, using the toolkit's routes.

Each exercise has an id (``"<lesson>.<name>"``), a prompt, and a reference answer computed
*by the toolkit* — exact enumeration, a derived closed form, or a certified enclosure — never
typed in. :func:`check` compares a learner's answer with it and explains a wrong answer,
recognising the classic mistakes (an agreement probability given for a correlation, a
normalised sensitivity given for the total, the paper's linearised fixed point given for the
exact one).

Examples
--------
>>> from fractions import Fraction
>>> print(check("noise.stab_maj3", Fraction(13, 32)))
right: Stab_1/2[Maj_3] = 13/32 (exact enumeration of the truth table)
>>> print(check("noise.stab_maj3", Fraction(45, 64)).message)  # doctest: +ELLIPSIS
wrong: 45/64 is Pr[f(x) = f(y)], the agreement probability; Stab is the correlation ...
>>> sorted(EXERCISES)[:2]
['attention.s2_half', 'attention.s_limit']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath

from nstheory.errors import NSTheoryError


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer: ``correct`` and a ``message`` that says why.

    It is truthy iff the answer is correct and prints as its message.

    Parameters
    ----------
    correct : bool
        Whether the answer is right.
    message : str
        Why.

    Examples
    --------
    >>> fb = check("noise.stab_maj3", "13/32")
    >>> bool(fb), str(fb).startswith("right:")
    (True, True)
    >>> bool(Feedback(False, "wrong: try again"))
    False
    """

    correct: bool
    message: str

    def __str__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.correct


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``prompt``, ``solve`` (the toolkit's reference answer and how it was
    obtained), ``digits`` (agreement required for a real answer; ``None`` = exact), and
    ``mistakes``: functions mapping the reference to ``(wrong value, explanation)`` pairs.

    Parameters
    ----------
    id : str
        ``<lesson>.<name>``.
    prompt : str
        The question.
    solve : callable
        Returns ``(reference answer, how it was obtained)``.
    digits : int, optional
        Digits of agreement for a real answer (None: exact).
    mistakes : tuple of callable, optional
        Map the reference to ``(wrong value, explanation)``.

    Examples
    --------
    The registered exercises live in :data:`EXERCISES`; each reference answer comes from a
    toolkit route:

    >>> ex = EXERCISES["noise.stab_maj3"]
    >>> ref, how = ex.solve()
    >>> ref, ex.digits                          # (3/4) rho + (1/4) rho^3 at rho = 1/2
    (Fraction(13, 32), None)
    >>> isinstance(ex, Exercise) and ex.id == "noise.stab_maj3"
    True
    """

    id: str
    prompt: str
    solve: Callable[[], tuple[object, str]]
    digits: int | None = None
    mistakes: tuple[Callable[[object], tuple[object, str]], ...] = field(default=())


def _exact(x) -> Fraction | None:
    if isinstance(x, Fraction):
        return x
    from nstheory.validate import fraction_of_text

    try:  # refuses 1e999999999, which would build a billion-digit integer: not an answer
        return fraction_of_text(str(x), "answer")
    except NSTheoryError:
        return None


def _same(answer, reference, digits: int | None) -> bool:
    if digits is None:
        a = _exact(answer)
        return a is not None and a == Fraction(reference)
    with mpmath.workdps(digits + 10):
        try:
            a = mpmath.mpf(str(answer).strip())
        except (ValueError, TypeError):
            return False
        ref = mpmath.mpf(reference) if not isinstance(reference, Fraction) else (
            mpmath.mpf(reference.numerator) / reference.denominator)
        return abs(a - ref) <= mpmath.mpf(10) ** (-digits) * max(1, abs(ref))


def _show(x, digits: int | None) -> str:
    if isinstance(x, Fraction):
        return str(x)
    return mpmath.nstr(x, (digits or 15) + 2)


def check(exercise_id: str, answer) -> Feedback:
    """Check ``answer`` to the exercise ``exercise_id`` (see :data:`EXERCISES`).

    Exact exercises take a rational (``Fraction``, int, or a string such as ``"13/32"``); real
    ones a number or decimal string, agreeing to the exercise's ``digits``.

    Parameters
    ----------
    exercise_id : str
        A key of :data:`EXERCISES`.
    answer : number or str
        The learner's answer.

    Returns
    -------
    Feedback

    Examples
    --------
    >>> check("fourier.top_coefficient_maj3", "-1/2").correct
    True
    >>> check("nope", 1)
    Traceback (most recent call last):
    ...
    nstheory.errors.NSTheoryError: unknown exercise 'nope'; see nstheory.teach.EXERCISES
    """
    if exercise_id not in EXERCISES:
        raise NSTheoryError(f"unknown exercise {exercise_id!r}; see nstheory.teach.EXERCISES")
    ex = EXERCISES[exercise_id]
    ref, how = ex.solve()
    if _same(answer, ref, ex.digits):
        return Feedback(True, f"right: {how.format(ref=_show(ref, ex.digits))}")
    for mistake in ex.mistakes:
        wrong, why = mistake(ref)
        if _same(answer, wrong, ex.digits):
            return Feedback(False, f"wrong: {answer} {why}")
    return Feedback(False, f"wrong: {answer} is not it; the toolkit's answer is "
                           f"{_show(ref, ex.digits)} — {how.format(ref=_show(ref, ex.digits))}")


def exercises(lesson: str) -> list[Exercise]:
    """The exercises of one lesson (``"fourier"``, ``"noise"``, ``"juntas"``, ``"gaussian"``,
    ``"depth"``, ``"attention"``, ``"sensitivity"``, ``"models"``).

    Parameters
    ----------
    lesson : str
        Lesson name.

    Returns
    -------
    list of Exercise

    Examples
    --------
    >>> [e.id for e in exercises("gaussian")]
    ['gaussian.kappa0', 'gaussian.relu_h1', 'gaussian.sheppard']
    """
    out = [e for e in EXERCISES.values() if e.id.split(".")[0] == lesson]
    if not out:
        raise NSTheoryError(f"no exercises for lesson {lesson!r}")
    return out


# ---------------------------------------------------------------------------------------------
# the reference answers, each computed by the toolkit
# ---------------------------------------------------------------------------------------------


def _maj3():
    from nstheory.boolean import majority

    return majority(3)


def _top_coeff():
    return _maj3().fourier_coefficient({1, 2, 3}), "hat f({{1,2,3}}) = {ref} (fast Walsh–Hadamard)"


def _inf1():
    from nstheory.boolean import influences

    return influences(_maj3())[0], "Inf_1[Maj_3] = {ref}: x_1 is pivotal when x_2 != x_3"


def _stab_maj3():
    from nstheory.boolean import stability

    return stability(_maj3(), Fraction(1, 2)), ("Stab_1/2[Maj_3] = {ref} (exact enumeration of "
                                                "the truth table)")


def _sheppard_half():
    from nstheory.boolean.majority_exact import sheppard_limit

    return sheppard_limit(Fraction(1, 2), dps=30), "lim Stab_1/2[Maj_n] = (2/pi) asin(1/2) = {ref}"


def _tail_maj5():
    from nstheory.boolean import majority, weights

    w = weights(majority(5))
    return sum(w[2:], Fraction(0)), "W^{{>1}}[Maj_5] = {ref} (weights by degree, exact)"


def _friedgut_k():
    from nstheory.boolean.juntas import friedgut_bound

    return Fraction(friedgut_bound(Fraction(3, 2), Fraction(1, 4)).k), (
        "k = ceil(I/eps) = {ref} for I = 3/2, eps = 1/4")


def _kappa0():
    from nstheory.gaussian.activations import get_activation

    return get_activation("relu").raw(0, dps=30), "kappa(0) = (E ReLU(X))^2 = 1/(2 pi) = {ref}"


def _relu_h1():
    from nstheory.gaussian.symbolic import relu_hermite_coefficient

    return Fraction(str(relu_hermite_coefficient(1))), (
        "the degree-1 Hermite coefficient of ReLU is E[X ReLU(X)] = {ref} (SymPy integral)")


def _sheppard_gauss():
    from nstheory.gaussian.activations import get_activation

    return get_activation("sign").raw("0.5", dps=30), "E[sgn X sgn Y] at rho = 1/2 is {ref}"


def _fixed_point():
    from nstheory.gaussian.recurrence import kappa_fixed_point_arb

    with mpmath.workdps(30):
        ball = kappa_fixed_point_arb(prec=128)
        return mpmath.mpf(ball.mid().str(25, radius=False)), (
            "the fixed point of rho -> kappa(rho) is {ref} (certified arb enclosure)")


def _linearised(ref):
    from nstheory.gaussian.recurrence import linearised_fixed_point

    return linearised_fixed_point(), ("is 2/(3 pi), the fixed point of the *linearised* map "
                                      "1/(2pi) + rho/4; the exact map's fixed point is larger")


def _s2_half():
    from nstheory.attention.consistency import s2_closed_form

    return s2_closed_form("0.5", dps=30), "s_2(1/2) = 1/2 + asin(1/2)/pi = {ref} (Sheppard)"


def _s_limit():
    from nstheory.attention.consistency import s_n

    return s_n(8, 1, dps=20), "s_n(1) = {ref}: fully correlated pairs always share the argmax"


def _effective_corr():
    from nstheory.noise import effective_token_correlation, regularizer_keep_prob

    q = regularizer_keep_prob(Fraction(1, 20))
    return Fraction(effective_token_correlation(q, 113, exclude_current=True)), (
        "with q = (1 + rho)/2 = 21/40 and a redraw that must differ, the effective "
        "correlation is (qU - 1)/(U - 1) = {ref}")


def _as_maj5():
    from nstheory.boolean import average_sensitivity, majority

    return average_sensitivity(majority(5)), "as(Maj_5) = I[Maj_5] = {ref} (exact)"


def _junta50_mean():
    from pathlib import Path

    from nstheory.models.summary import summarise

    path = Path(__file__).resolve().parent.parent / "proofs_check/data/models_minilm.json"
    size = summarise(path)["functionals"]["mean"]["token"]["junta"]["50%"]["size"]
    return Fraction(size), ("the smallest set of positions holding 50% of the mean embedding's "
                            "total token influence has {ref} positions (stored MiniLM run)")


EXERCISES: dict[str, Exercise] = {e.id: e for e in [
    Exercise("fourier.top_coefficient_maj3",
             "Compute the Fourier coefficient of Maj_3 on S = {1, 2, 3}.", _top_coeff,
             mistakes=(lambda r: (-r, "has the wrong sign: Maj_3 = (x1+x2+x3)/2 - x1x2x3/2"),)),
    Exercise("fourier.influence_maj3", "Compute Inf_1[Maj_3].", _inf1,
             mistakes=(lambda r: (Fraction(1, 4), "is the squared degree-1 coefficient only; "
                                  "Inf_1 sums hat f(S)^2 over every S containing 1"),)),
    Exercise("noise.stab_maj3", "Compute Stab_{1/2}[Maj_3] exactly.", _stab_maj3,
             mistakes=(lambda r: ((1 + r) / 2, "is Pr[f(x) = f(y)], the agreement probability; "
                                  "Stab is the correlation 2 Pr[f(x) = f(y)] - 1"),)),
    Exercise("noise.sheppard_limit", "Give lim_n Stab_{1/2}[Maj_n] to 10 digits.",
             _sheppard_half, digits=10,
             mistakes=(lambda r: (mpmath.mpf(1) / 2, "is rho itself; the limit is "
                                  "(2/pi) arcsin rho (Sheppard)"),)),
    Exercise("juntas.tail_maj5", "Compute W^{>1}[Maj_5], the Fourier weight above degree 1.",
             _tail_maj5),
    Exercise("juntas.friedgut_k", "In Friedgut's theorem with I[f] = 3/2 and eps = 1/4, what is "
             "k = ceil(I[f]/eps)?", _friedgut_k),
    Exercise("gaussian.kappa0", "Give kappa(0) = E[ReLU(X) ReLU(Y)] at rho = 0 to 12 digits.",
             _kappa0, digits=12,
             mistakes=(lambda r: (mpmath.mpf(1) / 2, "is kappa(1) = E[ReLU(X)^2]; at rho = 0 "
                                  "X and Y are independent, so kappa(0) = (E ReLU X)^2"),)),
    Exercise("gaussian.relu_h1", "Give the degree-1 orthonormal Hermite coefficient of ReLU.",
             _relu_h1),
    Exercise("gaussian.sheppard", "Give E[sgn X sgn Y] for rho = 1/2 to 12 digits.",
             _sheppard_gauss, digits=12),
    Exercise("depth.fixed_point", "Give the fixed point of rho -> kappa(rho) to 8 digits.",
             _fixed_point, digits=8, mistakes=(_linearised,)),
    Exercise("attention.s2_half", "Give s_2(1/2) to 12 digits.", _s2_half, digits=12),
    Exercise("attention.s_limit", "What is s_8(1)?", _s_limit, digits=12),
    Exercise("sensitivity.effective_correlation",
             "The regularizer uses rho = 1/20 on tokens from a vocabulary of U = 113 and "
             "redraws a changed token from the other 112. Give the effective correlation.",
             _effective_corr,
             mistakes=(lambda r: (Fraction(21, 40), "is the keep probability q; the redraw must "
                                  "differ, so the correlation is (qU - 1)/(U - 1)"),
                       lambda r: (Fraction(1, 20), "is the regularizer's rho, not the token "
                                  "correlation"))),
    Exercise("models.junta50_mean",
             "In the stored MiniLM run, how many positions hold 50% of the mean-pooled "
             "embedding's total token-resampling influence?", _junta50_mean,
             mistakes=(lambda r: (Fraction(256), "is every position; the junta is the smallest "
                                  "set of the most influential positions reaching the share"),)),
    Exercise("sensitivity.as_maj5", "Compute the average sensitivity as(Maj_5).", _as_maj5,
             mistakes=(lambda r: (r / 5, "is as(f)/n, the normalised sensitivity some papers "
                                  "report; as(f) is the total"),)),
]}

__all__ = ["EXERCISES", "Exercise", "Feedback", "check", "exercises"]
