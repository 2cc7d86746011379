"""The SymPy functions of the stable operations, opaque to simplification.

Fusion derives local gradients with these (``symbolic/body.py``), so simplification never
trades ``sigmoid`` or ``softplus`` for an overflowing formula; they live in the ops layer
because the operations' records name them (``Prim.sym``).
"""

from __future__ import annotations

import math

import sympy


class sigmoid(sympy.Function):  # noqa: N801 - named as in formulas
    """The logistic function, opaque to simplification; sigmoid' = sigmoid (1 - sigmoid)."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_is_positive(self):
        """Positive on the reals (so SymPy drops Abs around it)."""
        return self.args[0].is_extended_real


class softplus(sympy.Function):  # noqa: N801 - named as in formulas
    """log(1 + exp(x)), opaque to simplification; softplus' = sigmoid."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


class logaddexp(sympy.Function):  # noqa: N801 - named as in formulas
    """log(exp(a) + exp(b)), opaque to simplification (its expansion overflows);
    d/da = sigmoid(a - b), d/db = sigmoid(b - a)."""

    def fdiff(self, argindex=1):
        a, b = self.args
        return sigmoid(a - b) if argindex == 1 else sigmoid(b - a)


class erf(sympy.erf):  # noqa: N801 - named as in formulas
    """The error function; erf' = 2 / sqrt(pi) exp(-x**2) with its constant as one float
    (1.1283791670955126, as the unfused rule prints it, not 1.0 / np.sqrt(pi))."""

    def fdiff(self, argindex=1):
        return sympy.Float(2 / math.sqrt(math.pi), 17) * sympy.exp(-(self.args[0] ** 2))


def square(x):
    """x**2 (SymPy has no square function)."""
    return x**2
