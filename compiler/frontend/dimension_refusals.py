"""The frontend's errors for a dimension written as an expression in an annotation
(``Vector[n - 1]``, ``Matrix[D, 4 * H]``): a name in a parameter's expression that is
a constant or stands alone in no parameter's annotation (``annotations.parameter_dim``),
and the errors of ``dimensions.dim_expression`` (a name that is no dimension, a floor
division by no positive integer, a literal too large, another node). The frontend
raises them with these functions, and the syntax-tree check finds them in the same
order before SymPy is imported (``refusals.read_signature``).

It needs nothing but ``ast``.
"""

from __future__ import annotations

import ast

from ..errors import FormulaError
from .source import Source, is_int_literal
from .type_names import annotation_dims

#: the error for a node of a dimension expression that is none of its forms
NOT_AN_EXPRESSION = (
    "expected an integer literal or an expression of dimension names with + - * // "
    "(n - 1, n // 2)"
)
#: the error for a parameter's dimension that is no name, positive int literal or
#: expression (``Matrix[n, 0]``, ``Vector[1.5]``, ``Matrix[n, :h]``), or a return's literal
DIMENSION_FORM = (
    "a dimension is a positive integer, a name or an expression of them with + - * //"
)
#: the error for a floor division by anything but a positive int literal
FLOOR_DIVISOR = "a dimension is floor-divided by a positive integer"
#: the error for an int literal past 2**31 in magnitude
TOO_LARGE = "index too large"
#: the operators of a dimension expression besides ``//`` (``dimensions.DIM_OPS``)
DIM_OPERATORS = (ast.Add, ast.Sub, ast.Mult)


def constant_in_dimension(n: ast.Name, src: Source) -> FormulaError:
    """The error for the constant ``n`` inside a parameter's dimension expression."""
    return src.error(
        n,
        f"'{n.id}' is a constant; a dimension expression is made of dimension names "
        "and integer literals",
    )


def lone_dimension(n: ast.Name, src: Source) -> FormulaError:
    """The error for the name ``n`` inside a parameter's dimension expression that
    stands alone in no parameter's annotation."""
    return src.error(
        n,
        f"dimension '{n.id}' appears only inside an expression; it must also stand "
        f"alone as a dimension of some parameter (as in Vector[{n.id}]) so that its "
        "size is read from a shape",
    )


def not_a_dimension(n: ast.Name, src: Source) -> FormulaError:
    """The error for the name ``n`` in a dimension expression that is no dimension."""
    return src.error(n, f"'{n.id}' is not a dimension of the parameters")


def parameter_names_error(d, dims, constants, src: Source) -> FormulaError | None:
    """The first error ``annotations.parameter_dim`` raises for the names of the
    parameter's dimension expression ``d`` (in ``ast.walk``'s order): a name of
    ``constants``, or one not among ``dims`` (the names that stand alone); None."""
    for n in ast.walk(d):
        if isinstance(n, ast.Name) and n.id in constants:
            return constant_in_dimension(n, src)
        if isinstance(n, ast.Name) and n.id not in dims:
            return lone_dimension(n, src)
    return None


def expression_error(node, dims, src: Source) -> FormulaError | None:
    """The first error ``dimensions.dim_expression`` raises for ``node`` with the
    dimension names ``dims``, in its order (an operator's left side before its right,
    a floor division's divisor before its left side); None where it reads ``node``."""
    if isinstance(node, ast.Name):
        return None if node.id in dims else not_a_dimension(node, src)
    if is_int_literal(node):
        return src.error(node, TOO_LARGE) if abs(int_value(node)) >= 2**31 else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return expression_error(node.operand, dims, src)
    if isinstance(node, ast.BinOp) and isinstance(node.op, DIM_OPERATORS):
        left = expression_error(node.left, dims, src)
        return left or expression_error(node.right, dims, src)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
        k = int_value(node.right) if is_int_literal(node.right) else 0
        if abs(k) >= 2**31:
            return src.error(node.right, TOO_LARGE)
        if k <= 0:
            return src.error(node.right, FLOOR_DIVISOR)
        return expression_error(node.left, dims, src)
    return src.error(node, NOT_AN_EXPRESSION)


def int_value(node) -> int:
    """The value of an int literal, optionally negated (``is_int_literal``)."""
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value
    return node.value


def parameter_dims_read(ann, dims, constants, src: Source) -> FormulaError | bool:
    """How the frontend reads the dimensions of a parameter's annotation ``ann`` (whose
    type is one it takes), in order (``annotations.read_dim``): True without an error;
    the error of the first dimension that is no name, positive int literal or
    expression (``DIMENSION_FORM``), or whose expression's names it refuses or that is
    no expression of its forms (``parameter_names_error``, ``expression_error``); False
    where it may fail otherwise (an expression ``plain_expression`` does not vouch
    for)."""
    for d in annotation_dims(ann):
        if isinstance(d, ast.Name) or positive_int(d):
            continue
        if isinstance(d, ast.Constant) or not isinstance(d, (ast.BinOp, ast.UnaryOp)):
            return src.error(d, DIMENSION_FORM)
        error = parameter_names_error(d, dims, constants, src)
        error = error or expression_error(d, dims, src)
        if error is not None:
            return error
        if not any(isinstance(n, ast.Name) for n in ast.walk(d)):
            error = not_positive(d, int_expression(d), src)
            if error is not None:
                return error
        elif not plain_expression(d, dims):
            return False
    return True


def not_positive(d, value, src: Source) -> FormulaError | None:
    """The error for a parameter's dimension expression ``d`` whose value is not
    positive (``Vector[-3]``, ``Vector[2 - 5]``), else None."""
    if isinstance(value, int) and value <= 0:
        return src.error(
            d, f"dimension {ast.unparse(d)} is {value}; a dimension is positive"
        )
    return None


def int_expression(d) -> int:
    """The value of a dimension expression of int literals that ``expression_error``
    reads (``+ - *``, unary minus, ``//`` by a positive literal), as SymPy's integers
    give it (``floor`` of the quotient: Python's ``//``)."""
    if isinstance(d, ast.Constant):
        return d.value
    if isinstance(d, ast.UnaryOp):
        return -int_expression(d.operand)
    left, right = int_expression(d.left), int_expression(d.right)
    if isinstance(d.op, ast.FloorDiv):
        return left // right
    return {ast.Add: left + right, ast.Sub: left - right}.get(type(d.op), left * right)


def return_dims_read(ann, dims, constants, src: Source) -> FormulaError | bool:
    """How the frontend reads the dimensions of the return annotation ``ann`` (whose
    type is one it takes), in order (``annotations.return_dim``): a name is a new
    dimension from there on, a literal must be a positive int (``DIMENSION_FORM``),
    anything else is read by ``dim_expression`` (``expression_error``); True without an
    error, the error, or False where a name may be refused (a constant's)."""
    known = set(dims)
    for d in annotation_dims(ann):
        if isinstance(d, ast.Name):
            if d.id in constants:
                return False
            known.add(d.id)
        elif isinstance(d, ast.Constant) and not positive_int(d):
            return src.error(d, DIMENSION_FORM)
        elif not isinstance(d, ast.Constant):
            error = expression_error(d, known, src)  # NOT_AN_EXPRESSION at a slice
            if error is not None:
                return error
    return True


def dimension_named_error(fn: ast.FunctionDef, src: Source) -> FormulaError | None:
    """The error for the first parameter of ``fn`` named as one of its dimensions (a
    name standing alone in a parameter's or the return's annotation), else None: in the
    body the name would mean one of the two."""
    dims = {
        d.id
        for ann in [*(a.annotation for a in fn.args.args), fn.returns]
        for d in annotation_dims(ann)
        if isinstance(d, ast.Name)
    }
    for a in fn.args.args:
        if a.arg in dims:
            return src.error(
                a, f"parameter '{a.arg}' has the name of a dimension; rename one"
            )
    return None


def positive_int(d) -> bool:
    """Whether ``d`` is an int literal from 1 to 2**31 - 1, a dimension's size."""
    return isinstance(d, ast.Constant) and type(d.value) is int and 0 < d.value < 2**31


def plain_expression(d, dims: set) -> bool:
    """Whether the dimension expression ``d`` of a parameter is one the frontend reads
    without an error (``annotations.parameter_dim``): names of ``dims`` (each once, so
    that none cancels), int literals, ``+ - *``, unary minus, and ``//`` by a positive
    int literal, with at least one name and no product with 0."""
    names = [n.id for n in ast.walk(d) if isinstance(n, ast.Name)]
    if not names or len(set(names)) != len(names) or not set(names) <= dims:
        return False
    for n in ast.walk(d):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.FloorDiv):
            if not (
                isinstance(n.right, ast.Constant)
                and type(n.right.value) is int
                and n.right.value > 0
            ):
                return False
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult):
            if any(
                isinstance(s, ast.Constant) and s.value == 0 for s in (n.left, n.right)
            ):
                return False
        elif isinstance(n, ast.BinOp) and not isinstance(n.op, (ast.Add, ast.Sub)):
            return False
        elif isinstance(n, ast.UnaryOp) and not isinstance(n.op, ast.USub):
            return False
        elif isinstance(n, ast.Constant) and type(n.value) is not int:
            return False
        elif not isinstance(n, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name)):
            if not isinstance(n, (ast.operator, ast.unaryop, ast.expr_context)):
                return False
    return True
