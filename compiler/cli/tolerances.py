"""The tolerances of ``gradc check`` and the help text that states them (read by the
argument parser without importing the check itself)."""

from __future__ import annotations

#: central differences: entry k of an input moves by +-FD_STEP * max(1, |x_k|)
FD_STEP = 1e-6


#: an entry passes when |grad - fd| <= FD_RTOL * |fd| + FD_ATOL * S, S = max(1, |f|, max |fd|)
FD_RTOL = 1e-6


FD_ATOL = 1e-8


#: the value of f, f_forward and f_value_and_grad must agree to this relative error
VALUE_RTOL = 1e-9


CHECK_EPILOG = f"""\
Inputs are drawn at random (numpy default_rng seeded with --seed and the function's
name): standard normal, positive (uniform in [0.5, 2]) where log, sqrt, log1p or a
fractional power needs it, away from kinks (relu, abs, maximum, clip, max, comparisons)
by at least 1e-3; Index inputs are integers below the size of the axis they index.
Dimensions not set with --dims take the sizes 3, 4, 5, ... in order of appearance.

Each gradient (from f_value_and_grad and from f_forward + f_backward; for a function
with a tensor value, f_backward of a random seed u against the differences of <u, f>)
is compared with central differences in float64, entry k of an input moved by
+-{FD_STEP:g} * max(1, |x_k|). An entry passes when
    |grad - fd| <= {FD_RTOL:g} * |fd| + {FD_ATOL:g} * S,   S = max(1, |f(x)|, max |fd|).
The value of f, f_forward and f_value_and_grad must agree to {VALUE_RTOL:g} relative.
Exit status: 0 all match, 1 a mismatch, 2 bad input."""
