"""What a loop body assigns and reads, on the syntax tree alone: the frontend's loop
lowering (``loops.py``) and the shape check before it (``statement_shapes.py``, which
imports no SymPy) read a body by these rules, and word a carried value that changes
shape with one function, so they cannot disagree."""

from __future__ import annotations

import ast
from collections.abc import Callable

from ..errors import FormulaError
from .source import Source


def assigned_names(body: list) -> list[str]:
    """The names the statements of ``body`` assign (item assignment included), in order."""
    out: list[str] = []
    for stmt in body:
        for node in ast.walk(stmt):
            target = None
            if isinstance(node, ast.Assign):
                target = node.targets[0]
            elif isinstance(node, ast.AugAssign):
                target = node.target
            if isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Name) and target.id not in out:
                out.append(target.id)
    return out


def early_read(body: list, assigned: list[str], defined) -> ast.Name | None:
    """The first name the body reads before assigning it that it assigns somewhere and
    that is not ``defined`` before the loop (the frontend's error: it would be carried
    from one iteration to the next with no first value); None if there is none."""
    done: set[str] = set()
    for stmt in body:
        reads = [
            n
            for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        ]
        if isinstance(stmt, (ast.AugAssign)) or (
            isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript)
        ):
            t = stmt.target if isinstance(stmt, ast.AugAssign) else stmt.targets[0]
            t = t.value if isinstance(t, ast.Subscript) else t
            if isinstance(t, ast.Name):  # another target is the statement's error
                reads.append(t)
        for n in reads:
            if n.id in assigned and n.id not in done and n.id not in defined:
                return n
        done.update(assigned_names([stmt]))
    return None


def early_read_error(n: ast.Name, src: Source) -> FormulaError:
    """The error at ``n``, a name a loop's body reads before assigning it with no value
    before the loop (``early_read``)."""
    return src.error(
        n,
        f"'{n.id}' is read before it is assigned in the loop, so it is "
        "carried from one iteration to the next: define it before the loop",
    )


def variable_error(target: ast.Name, src: Source) -> FormulaError:
    """The error at a loop's variable ``target`` that already names a value, dimension
    or constant (``for n in range(3)``)."""
    return src.error(target, f"loop variable '{target.id}' already names a value")


def assigns_variable_error(stmt: ast.For, src: Source) -> FormulaError:
    """The error at the loop ``stmt`` whose body assigns its variable."""
    return src.error(stmt, f"the loop body assigns to its variable '{stmt.target.id}'")


def bound(node, dims: set) -> bool:
    """Whether ``node`` is a ``range`` bound the frontend reads (``loops.bound``): an int
    literal, a name of ``dims``, or ``+ - *`` of them."""
    if isinstance(node, ast.Name):
        return node.id in dims
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, (ast.Add, ast.Sub, ast.Mult)
    ):
        return bound(node.left, dims) and bound(node.right, dims)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def plain_loop(s: ast.For, known: set, dims: set) -> bool:
    """Whether the frontend reads the body of the loop ``s`` (``loops.lower_for``): its
    variable a name not ``known`` as a value, dimension or constant, nor assigned in the
    body, over ``range`` of bounds it reads (``bound``) and a step other than 0. (The
    frontend's errors at the variable and the range come before the body's.)"""
    var, args = s.target.id, s.iter.args
    if var in known or var in assigned_names(s.body):
        return False
    if len(args) == 3 and isinstance(args[2], ast.Constant) and args[2].value == 0:
        return False
    return all(bound(a, dims) for a in args)


def last_assignment(body: list, name: str):
    """The last statement of ``body`` that assigns ``name`` (for error locations)."""
    found = body[0]
    for stmt in body:
        if name in assigned_names([stmt]):
            found = stmt
    return found


def carried_shape_error(
    body: list, name: str, shapes: tuple, src: Source, shown: Callable[[tuple], str]
) -> FormulaError:
    """The error for ``name``, carried from one iteration of the loop of ``body`` to the
    next, whose shape changes: ``shapes`` before the loop and after an iteration, each
    written by ``shown``; placed at the body's last assignment of it."""
    before, after = shapes
    return src.error(
        last_assignment(body, name),
        f"'{name}' is carried from one iteration to the next and must keep its "
        f"shape: {shown(before)} before the loop, {shown(after)} after an iteration",
    )
