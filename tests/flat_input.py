"""A generated formula with its convolution or pooling input passed flat, so that
``f_hessian`` (exactly one Scalar or Vector input differentiated, SPEC §2.1) reaches
convolution and pooling: ``x1: Tensor[P, 3, 6, S]`` becomes ``x1_flat: Vector[180]``
and ``x1 = reshape(x1_flat, (2, 3, 6, 5))`` opens the body. The function's symbolic
dimensions are replaced by the values the generator chose for them first, so every
annotation stays bound once ``x1``'s is gone. Pure ``ast`` on the formula's text;
nothing here imports gradc."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

WINDOWED = ("conv2d", "max_pool2d", "avg_pool2d")


@dataclass
class FlatInput:
    """The rewritten formula: its text, its arguments (the flat one in place of the
    tensor), the flat parameter's name and position, and the tensor's shape."""

    text: str
    args: list
    name: str
    position: int
    shape: tuple

    def unflatten(self, args: list) -> list:
        """``args`` of the rewritten formula as arguments of the original one."""
        out = list(args)
        out[self.position] = np.reshape(args[self.position], self.shape)
        return out


def main_function(tree: ast.Module, name: str) -> ast.FunctionDef:
    """The formula's function ``name``."""
    return next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name
    )


def dimension_values(fn: ast.FunctionDef, args: list) -> dict[str, int]:
    """Each dimension named alone in an annotation (``Tensor[P, 3]``) and its size in
    the arguments."""
    dims: dict[str, int] = {}
    for param, value in zip(fn.args.args, args):
        ann = param.annotation
        if not isinstance(ann, ast.Subscript):
            continue
        elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        for e, size in zip(elts, np.shape(value)):
            if isinstance(e, ast.Name):
                dims.setdefault(e.id, int(size))
    return dims


class Literal(ast.NodeTransformer):
    """Replaces each named dimension by its value."""

    def __init__(self, dims: dict[str, int]):
        self.dims = dims

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.dims and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.Constant(self.dims[node.id]), node)
        return node


def windowed_input(fn: ast.FunctionDef, args: list) -> int | None:
    """The position of the first parameter passed as the image of a ``conv2d``,
    ``max_pool2d`` or ``avg_pool2d`` call in ``fn``, or None."""
    params = [a.arg for a in fn.args.args]
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id in WINDOWED and isinstance(node.args[0], ast.Name):
            image = node.args[0].id
            if image in params and np.ndim(args[params.index(image)]) == 4:
                return params.index(image)
    return None


def flatten_windowed_input(text: str, name: str, args: list) -> FlatInput | None:
    """``text`` with the image of its first convolution or pooling passed flat (None if
    no parameter of ``name`` is one); its ``@wrt`` dropped."""
    tree = ast.parse(text)
    fn = main_function(tree, name)
    position = windowed_input(fn, args)
    if position is None:
        return None
    Literal(dimension_values(fn, args)).visit(fn)
    param = fn.args.args[position]
    shape = tuple(np.shape(args[position]))
    flat = f"{param.arg}_flat"
    size = int(np.prod(shape))
    unflat = ast.parse(f"{param.arg} = reshape({flat}, {shape!r})").body[0]
    param.annotation = ast.parse(f"Vector[{size}]", mode="eval").body
    param.arg = flat
    start = 1 if ast.get_docstring(fn) is not None else 0
    fn.body.insert(start, unflat)
    fn.decorator_list = []
    new_args = list(args)
    new_args[position] = np.ravel(args[position]).copy()
    text = ast.unparse(ast.fix_missing_locations(tree)) + "\n"
    return FlatInput(text, new_args, flat, position, shape)
