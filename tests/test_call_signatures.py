"""A built-in call given arguments it does not take (``frontend/call_signatures.py``):
another number of them, a keyword it does not know, a window's argument given twice,
Python's ``max(a, b)``. The frontend refuses the call on reaching it, before it lowers
any argument, and the syntax-tree checks report the same error before SymPy is imported
(issue 16: ``sum(x, axs=1)``, ``max(s, keepdim=True)``, ``sigmoid()``).

Every call of every operation of these forms (``call_forms.FORM_NAMES``) is written
wrong in each way its form can be, with a misspelt name inside its arguments and one in
the next statement: the report must be the frontend's own (``lower_module`` without the
checks: message, line, column), the call's error and not either name's. A misspelt name
that the frontend meets before the call is reported instead.
"""

from __future__ import annotations

import pytest

from gradc.frontend.call_forms import FORM_NAMES
from tests.test_startup import assert_answered_early
from tests.test_syntax_precheck import assert_reported_early, early_report
from tests.test_value_name_precheck import frontend_report

H = (
    "def f(x: Vector[n], w: Scalar, X: Tensor[b, c, h, v], K: Tensor[d, c, 3, 3],"
    " A: Matrix[n, n]) -> Scalar:\n"
)

# What each form takes, written here from NumPy's signatures (``np.sum(a, axis,
# keepdims)``, ``np.linalg.norm(x, ord, axis, keepdims)``, ...) and the formula
# language's windows, not read from ``call_signatures.py``, which the frontend and the
# checks share.
#: the calls of one array and an axis: the keywords each takes, and how many arguments
#: by position at most
AXIS_CALLS = {
    "reduction": (("axis", "keepdims"), 2),
    "softmax": (("axis",), 2),
    "scan": (("axis",), 2),
    "moment": (("axis", "ddof", "keepdims"), 2),
    "norm": (("ord", "axis", "keepdims"), 4),
}
#: the window calls: their arguments in order (the first two required)
WINDOW_CALLS = {"conv": ("x", "w", "stride", "pad"), "pool": ("x", "size", "stride")}
#: the elementwise calls: how many values each takes
VALUE_CALLS = {"unary": 1, "binary": 2, "where": 3}
#: a value of each keyword the forms of one array and an axis take
KEYWORD_VALUES = {"axis": "0", "keepdims": "True", "ddof": "0", "ord": "None"}
#: the operations of one square matrix (``A``) or of a matrix and a vector
SQUARE = {"cholesky", "det", "inv"}


def wrong_calls(name: str, form: str) -> list[tuple[str, str]]:
    """Calls of ``name`` (of ``form``) with arguments it does not take, each with
    ``qq`` where a value goes, and the words of the error the frontend gives."""
    if form in AXIS_CALLS:
        keywords, most = AXIS_CALLS[form]
        calls = [
            (f"{name}()", "takes an array"),
            (f"{name}({', '.join(['qq'] + ['0'] * most)})", "takes an array"),
            (f"{name}(qq, foo=1)", "unexpected keyword 'foo'"),
            (f"{name}(qq, {keywords[0]}=1, keepdim=True)", "unexpected keyword"),
        ]
        if name in ("max", "min"):
            calls.append((f"{name}(qq, w)", "the second argument of"))
        return calls
    if form in WINDOW_CALLS:
        names = WINDOW_CALLS[form]
        first = "qq, K" if form == "conv" else "qq, 2"
        return [
            (f"{name}(qq)", "takes x,"),
            (f"{name}({first}, 1, 1, 1)", "takes x,"),
            (f"{name}({first}, strde=1)", "unexpected keyword 'strde'"),
            (f"{name}({first}, x=X)", "unexpected keyword 'x'"),
            (f"{name}(qq, stride=1)", "takes x,"),  # no kernel, no size
            (f"{name}({first}, {names[1]}=1)", f"unexpected keyword '{names[1]}'"),
        ]
    n = VALUE_CALLS[form]
    values = ["x > 0" if form == "where" else "qq", "qq", "qq", "qq"]
    return [
        (f"{name}({', '.join(values[: n - 1])})", "positional argument"),
        (f"{name}({', '.join(values[: n + 1])})", "positional argument"),
        (f"{name}({', '.join(values[:n])}, out=x)", "unexpected keyword 'out'"),
    ]


CASES = [
    (name, call, words)
    for form in sorted(FORM_NAMES)
    for name in sorted(FORM_NAMES[form])
    for call, words in wrong_calls(name, form)
]


def test_every_form_is_written_wrong():
    """Each form of ``FORM_NAMES`` has its ways of being wrong here."""
    assert set(FORM_NAMES) == set(AXIS_CALLS) | set(WINDOW_CALLS) | set(VALUE_CALLS)
    assert len(CASES) > 3 * sum(len(names) for names in FORM_NAMES.values())


def right_calls(name: str, form: str) -> list[str]:
    """Calls of ``name`` (of ``form``) with the arguments it takes: each keyword of a
    form of one array and an axis on its own, a window's arguments by position and by
    keyword, an elementwise function's values."""
    if form in AXIS_CALLS:
        keywords, most = AXIS_CALLS[form]
        calls = [f"{name}(x, {k}={KEYWORD_VALUES[k]})" for k in keywords]
        calls.append(f"{name}(x, 0)" if most == 2 else f"{name}(x, None, 0, False)")
        return calls
    if form == "conv":
        return ["conv2d(X, K, 1, 1)", "conv2d(x=X, w=K, stride=1, pad=1)"]
    if form == "pool":
        return [f"{name}(X, 2)", f"{name}(x=X, size=2, stride=2)"]
    if name in SQUARE:
        return [f"{name}(A)"]
    if name == "solve":
        return ["solve(A, x)"]
    values = ["x > 0" if form == "where" else "x", "x", "x"]
    return [f"{name}({', '.join(values[: VALUE_CALLS[form]])})"]


RIGHT = [
    (name, call)
    for form in sorted(FORM_NAMES)
    for name in sorted(FORM_NAMES[form])
    for call in right_calls(name, form)
]


@pytest.mark.parametrize("name, call", RIGHT)
def test_the_arguments_each_call_takes_compile(name, call):
    """The same tables the wrong calls come from, read the other way: a keyword or a
    count the shared rules wrongly refused would be refused by the frontend too."""
    text = H + f"    return sum({call}) * w + sum(A)\n"
    assert frontend_report(text) is None, call
    assert early_report(text) is None, call


@pytest.mark.parametrize("name, call, words", CASES)
def test_the_call_is_reported_as_the_frontend_reports_it(name, call, words):
    text = H + f"    y = w * {call}\n    return sum(y) * zz\n"
    assert_reported_early(text, words)  # the call's, not its argument's name


@pytest.mark.parametrize("name, call, words", CASES[::7])
def test_a_name_the_frontend_meets_first_is_reported_instead(name, call, words):
    for text in (
        H + f"    y = qq + {call}\n    return sum(y)\n",
        H + f"    u = x * qq\n    y = {call}\n    return sum(y)\n",
    ):
        want = frontend_report(text)
        assert want is not None and "unknown name 'qq'" in want, want
        assert early_report(text) == want


def test_the_misspelt_keywords_people_write(tmp_path):
    """PyTorch's ``keepdim`` and a slip of the finger, answered by the command line
    without importing SymPy, NumPy or the compiler."""
    for call, key in (
        ("max(X, axis=1, keepdim=True)", "keepdim"),
        ("sum(X, axs=1)", "axs"),
        ("softmax(X, dim=1)", "dim"),
        ("max_pool2d(X, 2, strid=2)", "strid"),
    ):
        text = H + f"    s = {call}\n    return sum(s) + sum(x)\n"
        want = frontend_report(text)
        assert want is not None and f"got an unexpected keyword '{key}'" in want
        assert_answered_early(text, want, tmp_path)
