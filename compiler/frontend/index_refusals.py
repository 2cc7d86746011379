"""The index items the frontend refuses as it reads a subscript's items in turn
(``indexing.index_items``), before it lowers anything inside them: a literal that is no
int (``x[...]``, ``x[True]``, ``x[1.5]``) and a comparison (``x[x > 0]``, a mask whose
length depends on the values). Light (``ast`` and the file's text), so that the
syntax-tree checks that answer before SymPy is imported stop or report at the same items
(``refusals.refused_before``, ``shape_reading.indexed``)."""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .dimension_refusals import TOO_LARGE, expression_error, int_value
from .source import Source, is_int_literal

#: the error at a slice's step that is no int literal (``dimensions.index_int``'s)
STEP_NOT_INT = "slice bounds must be integer literals"
#: the error at a slice of step 0
ZERO_STEP = "slice step cannot be zero"
#: any item of an integer array's own index but an integer, a slice and None
OF_INDEX = (
    "an Index value or arange(n) is indexed only with integers, slices and None "
    "(i[:, None], i[1:])"
)


def refused_items(index) -> list:
    """The items of a subscript's ``index`` the frontend refuses: literals other than an
    int and ``None`` (``refusals.refused_at``'s error for ``...``, ``True`` or a string;
    an index that is no integer for a float), an int literal of 2**31 or more in
    magnitude (``dimensions.index_int``: "index too large") and comparisons
    (``mask_error``)."""
    items = index.elts if isinstance(index, ast.Tuple) else [index]
    return [
        i
        for i in items
        if isinstance(i, ast.Compare)
        or (is_int_literal(i) and abs(int_value(i)) >= 2**31)
        or (
            isinstance(i, ast.Constant)
            and i.value is not None
            and not is_int_literal(i)
        )
    ]


def mask_error(item: ast.Compare, src: Source) -> FormulaError:
    """The error for a comparison used as an index (``x[x > 0]``, NumPy's boolean mask):
    its length depends on the values, so no shape is known; ``where`` keeps the shape."""
    cond = ast.unparse(item)
    cond = cond if len(cond) <= 40 else cond[:37] + "..."
    return src.error(
        item,
        f"a boolean mask `[{cond}]` is not supported: the length it keeps depends on "
        f"the values; keep the shape and zero the rest: `where({cond}, ..., 0.0)`",
    )


def slice_error(item: ast.Slice, dims, src: Source) -> FormulaError | None | bool:
    """The error ``indexing.index_items`` raises reading the slice ``item``, in its
    order: each bound an int literal or a dimension expression of ``dims`` (the
    dimensions and the loop variables: ``dimension_refusals.expression_error``), then the
    step an int literal (``STEP_NOT_INT``, ``TOO_LARGE``) other than 0 (``ZERO_STEP``);
    None where it reads them. ``dims`` are all the names the frontend reads as
    dimensions there (the return's too): any other name is "not a dimension"."""
    for bound in (item.lower, item.upper):
        if bound is None:
            continue
        error = expression_error(bound, dims, src)
        if error is not None:
            return error
    step = item.step
    if step is None:
        return None
    if not is_int_literal(step):
        return src.error(step, STEP_NOT_INT)
    if abs(int_value(step)) >= 2**31:
        return src.error(step, TOO_LARGE)
    return src.error(item, ZERO_STEP) if int_value(step) == 0 else None
