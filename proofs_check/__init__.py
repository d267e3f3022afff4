"""Registered claims, grouped by paper section or topic (one module per group).

Each module registers its claims on import with :func:`nstheory.claims.claim`; ``nstheory
verify`` imports every module of this package. Claim ids start with the module's area, e.g.
``boolean.majority.sheppard_limit`` lives in ``proofs_check/boolean_*.py``.
"""
