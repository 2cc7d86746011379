"""A misspelt name or function in the body of a ``@fuse`` function, found on the syntax
tree before SymPy is imported (issue 16). The frontend lowers such a body where the
function is called, once the call's arguments are lowered, and raises the body's error
there (none if the function is never called); the checks report it in that order
(``call_names.statement_call_error``): after a misspelt name or function in the call's
arguments or before the call, before one after it.

Each report must be the frontend's own (``lower_module`` without the checks), and the
API's (``compile_source``, which runs the checks first).
"""

from __future__ import annotations

import pytest

from tests.test_syntax_precheck import assert_reported_early

SWISH = "@fuse\ndef swish(u: Scalar) -> Scalar:\n    return u * sigmoi(u)\n\n\n"
SCALED = "@fuse\ndef scaled(u: Scalar) -> Scalar:\n    return u * gain\n\n\n"
H = "def f(x: Vector[n], w: Scalar) -> Scalar:\n"

#: each file, and the words of the error the frontend reports first
CASES = {
    "an-unknown-function-in-the-body": (
        SWISH + H + "    return sum(swish(x))\n",
        "unknown function 'sigmoi'",
    ),
    "an-unknown-name-in-the-body": (
        SCALED + H + "    return sum(scaled(x))\n",
        "unknown name 'gain'",
    ),
    "the-body-before-a-name-after-the-call": (
        SWISH + H + "    return sum(swish(x)) * qq\n",
        "unknown function 'sigmoi'",
    ),
    "the-body-before-a-later-statement": (
        SWISH + H + "    y = swish(x)\n    return sum(foo(y))\n",
        "unknown function 'sigmoi'",
    ),
    "a-name-in-the-arguments-first": (
        SWISH + H + "    return sum(swish(x * qq))\n",
        "unknown name 'qq'",
    ),
    "a-function-in-the-arguments-first": (
        SWISH + H + "    return sum(swish(foo(x)))\n",
        "unknown function 'foo'",
    ),
    "a-name-before-the-call-first": (
        SWISH + H + "    return qq * sum(swish(x))\n",
        "unknown name 'qq'",
    ),
    "a-statement-before-the-call-first": (
        SWISH + H + "    y = x * qq\n    return sum(swish(y))\n",
        "unknown name 'qq'",
    ),
    "the-inner-call-of-two": (
        SWISH + SCALED + H + "    return sum(scaled(swish(x)))\n",
        "unknown function 'sigmoi'",
    ),
    "in-a-loop": (
        SCALED + H + "    h = x\n    for t in range(3):\n        h = scaled(h)\n"
        "    return sum(h)\n",
        "unknown name 'gain'",
    ),
    "through-another-fuse-function": (
        SCALED
        + "@fuse\ndef twice(u: Scalar) -> Scalar:\n    return scaled(u) * 2.0\n\n\n"
        + H
        + "    return sum(twice(x))\n",
        "unknown name 'gain'",
    ),
    "never-called-so-the-later-name": (
        SWISH + H + "    return sum(x) * qq\n",
        "unknown name 'qq'",
    ),
    "the-call-of-another-arity-first": (
        SWISH + H + "    return sum(swish(x, x))\n",
        "swish() takes 1 positional argument, got 2",
    ),
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_the_report_is_the_frontends(key):
    assert_reported_early(*CASES[key])
