"""The formula language's names as Python over NumPy and SciPy: the namespace in which
the tests evaluate a formula's text as their own oracle (``eval(text, dict(NAMESPACE))``),
sharing no code with gradc. One table for every test that does so."""

from __future__ import annotations

import numpy as np
import scipy.special
from reference import ELEMENTWISE


def _relu(x):
    return np.maximum(x, 0.0)


def _softplus(x):
    return np.logaddexp(0.0, x)


NAMESPACE = {
    "np": np,
    "numpy": np,
    **ELEMENTWISE,  # the reference interpreter's table: exp ... log10, erf
    "abs": np.abs,
    "logaddexp": np.logaddexp,
    "sigmoid": scipy.special.expit,
    "softplus": _softplus,
    "relu": _relu,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "clip": np.clip,
    "where": np.where,
    "sum": np.sum,
    "cumsum": np.cumsum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "logsumexp": scipy.special.logsumexp,
    "norm": np.linalg.norm,
    "softmax": lambda x, axis=-1: scipy.special.softmax(x, axis=axis),
    "log_softmax": lambda x, axis=-1: scipy.special.log_softmax(x, axis=axis),
    "transpose": np.transpose,
    "reshape": np.reshape,
    "concatenate": np.concatenate,
    "stack": np.stack,
    "dot": np.dot,
    "outer": np.outer,
    "arange": np.arange,
    "var": np.var,
    "std": np.std,
    "einsum": np.einsum,
    "zeros": np.zeros,
    "zeros_like": np.zeros_like,
    "ones_like": np.ones_like,
    "pi": np.pi,
    "e": np.e,
}
