"""Noise stability of one softmax attention layer (Theorems 5.2 and 5.3 of haris2026).

Modules: :mod:`~nstheory.attention.layer` (the batched torch layer),
:mod:`~nstheory.attention.montecarlo` (batched Monte Carlo of Stab with CIs),
:mod:`~nstheory.attention.consistency` (the factor ``s_n(r)``: closed forms, quadrature, arb),
:mod:`~nstheory.attention.certified` (certified enclosures of ``s_n(r)`` for any ``n``),
:mod:`~nstheory.attention.theory` (SymPy statements and derivations, the proved bound),
:mod:`~nstheory.attention.rates` (decay-rate fits), ``cli`` and ``figures``.
"""
