"""Formula text -> graph IR, through the standard library's ``ast`` (the text is never run).

Only allow-listed syntax is read: module docstring, numeric constants, ``def`` with
annotated parameters, assignments and one final ``return``. Everything else is a
``FormulaError`` pointing at the offending line and column.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import warnings
from dataclasses import dataclass, field

import sympy

from ..core.ir import Builder, Function, Loc, Param, reachable
from ..core.names import function_name_problem, generated_names
from ..core.prim import PRIMS
from ..core.shapes import broadcast, canon, dim_symbol, format_shape, norm_axis, size
from ..errors import FormulaError, ShapeError
from ..ops import surface_names
from ..rewrite.simplify import make_rewriter
from ..symbolic.body import FUSIBLE, freeze_body
from ..symbolic.convert import derivable

MAX_SOURCE_BYTES = 1_000_000
MAX_DEPTH = 200
MAX_NODES = 100_000
MAX_LITERAL_DIGITS = 60
MAX_EXPONENT = 1e6
# Hints of UNSUPPORTED: Python syntax formulas do not have, as people name it, and what to
# write instead.
PLANNED_FOR = "only `for ... in range(...)` loops are planned"
WHERE = "use `where(cond, a, b)`"
ARRAYWISE = "operations apply to whole arrays: write `sum(v * v)`, not `sum([t * t for t in v])`"

FLOAT_TYPES = {"Scalar": 0, "Vector": 1, "Matrix": 2, "Tensor": None}
CONSTANTS = {"pi": math.pi, "e": math.e}
UNARY_FUNCS = surface_names("unary")  # from the operations' records (Prim.names)
REDUCTIONS = surface_names("reduction")
BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
}
COMPARES = {
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
    ast.Eq: "eq",
    ast.NotEq: "ne",
}
UNSUPPORTED = {
    ast.For: ("a for loop", "`for ... in range(...)` loops are planned, not built yet"),
    ast.While: ("a while loop", PLANNED_FOR),
    ast.If: ("an if statement", WHERE),
    ast.Import: (
        "imports",
        "formula files use the built-in operations; `np.` prefixes are allowed",
    ),
    ast.Lambda: ("a lambda", "define a function with `def` above its first use"),
    ast.ListComp: ("a list comprehension", ARRAYWISE),
    ast.SetComp: ("a set comprehension", None),
    ast.DictComp: ("a dictionary comprehension", None),
    ast.GeneratorExp: ("a generator expression", ARRAYWISE),
    ast.With: ("a with block", None),
    ast.Try: ("a try block", None),
    ast.ClassDef: ("a class", None),
    ast.IfExp: ("a conditional expression `a if cond else b`", WHERE),
    ast.BoolOp: (
        "`and`/`or`",
        "for a condition use one comparison in `where(cond, a, b)`",
    ),
    ast.Dict: ("a dictionary", None),
    ast.Set: ("a set", None),
    ast.JoinedStr: ("a string", None),
    ast.Await: ("`await`", None),
    ast.Yield: ("`yield`", "end the function with `return`"),
    ast.NamedExpr: (
        "an assignment expression `:=`",
        "assign on its own line: `name = ...`",
    ),
    ast.Starred: ("a `*` unpacking", None),
    ast.Delete: ("a del statement", None),
    ast.Global: ("a global statement", None),
    ast.Nonlocal: ("a nonlocal statement", None),
    ast.AsyncFunctionDef: ("an async function", "write a plain `def`"),
    ast.FunctionDef: (
        "a nested function definition",
        "define it at the top level, above its first use",
    ),
    ast.Raise: ("a raise statement", None),
    ast.Assert: ("an assert statement", None),
    ast.Pass: ("a pass statement", None),
    ast.Break: ("a break statement", None),
    ast.Continue: ("a continue statement", None),
    ast.Expr: ("an expression on its own line", "assign it: `name = ...`"),
    ast.Tuple: (
        "a tuple",
        "a value is one number or array (several as one array: `stack([a, b])`)",
    ),
    ast.List: (
        "a list",
        "lists appear only in `stack([a, b])` and `concatenate([a, b])`",
    ),
    ast.Slice: ("a slice", "slices appear only inside `x[...]`"),
    ast.Subscript: (
        "an item assignment `a[i] = ...`",
        "assign to a new name: `y = ...`",
    ),
}
if hasattr(ast, "Match"):  # Python 3.10+
    UNSUPPORTED[ast.Match] = ("a match statement", WHERE)
if hasattr(ast, "TryStar"):  # Python 3.11+
    UNSUPPORTED[ast.TryStar] = UNSUPPORTED[ast.Try]
UNSUPPORTED[ast.ImportFrom] = UNSUPPORTED[ast.Import]
UNSUPPORTED[ast.YieldFrom] = UNSUPPORTED[ast.Yield]
OPERATORS = {  # operators formulas do not have: their name and what to write instead
    ast.FloorDiv: (
        "floor division `//`",
        "`//` appears only in dimensions, as in `Vector[n // 2]`",
    ),
    ast.Mod: ("the remainder operator `%`", None),
    ast.BitXor: ("`^`", "for a power write `x ** 2`"),
    ast.BitAnd: ("`&`", None),
    ast.BitOr: ("`|`", None),
    ast.LShift: ("`<<`", None),
    ast.RShift: ("`>>`", None),
    ast.Not: ("`not`", None),
    ast.Invert: ("`~`", None),
}


@dataclass
class Source:
    """The formula text being compiled, for locating errors."""

    filename: str
    lines: list[str]
    defs: dict[str, ast.FunctionDef] = field(
        default_factory=dict
    )  # every top-level def

    def line(self, n: int) -> str:
        return self.lines[n - 1] if 0 < n <= len(self.lines) else ""

    def error(self, node, message: str) -> FormulaError:
        """A FormulaError at an AST node (or a ``(line, col)`` pair, 1-based)."""
        if isinstance(node, tuple):
            line, col = node
        else:
            line = getattr(node, "lineno", 1) or 1
            text = self.line(line).encode("utf-8")
            col = (
                len(text[: getattr(node, "col_offset", 0)].decode("utf-8", "replace"))
                + 1
            )
        return FormulaError(
            message,
            filename=self.filename,
            line=line,
            col=col,
            source_line=self.line(line),
        )


@dataclass
class Signature:
    """A user function available to later ones: its AST and whether it is ``@fuse``."""

    node: ast.FunctionDef
    fuse: bool


@dataclass
class Scope:
    """What names mean while lowering one function body."""

    src: Source
    b: Builder
    constants: dict[str, float]
    funcs: dict[str, Signature]
    env: dict[str, int] = field(default_factory=dict)
    dims: dict[str, object] = field(default_factory=dict)
    stmt: str = "out"
    inlining: tuple = ()
    fuse: bool = True
    call_loc: Loc | None = None  # inlined code cites the line of the call


def parse(
    text: str | bytes, filename: str = "<string>", *, fuse: bool = True
) -> list[Function]:
    """Lower every exported function of a formula file to the graph IR."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormulaError(
                f"file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                filename=filename,
            ) from None
    if len(text.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
        raise FormulaError(
            f"file is larger than {MAX_SOURCE_BYTES} bytes", filename=filename
        )
    # Lines as Python numbers them (\n, \r\n, \r), not str.splitlines' wider set.
    src = Source(filename, re.split(r"\r\n|\r|\n", text))
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise src.error((line, 1), "file contains a NUL byte (binary file?)")
    tree = parse_python(text, src)
    return lower_module(tree, src, fuse)


def parse_python(text: str, src: Source) -> ast.Module:
    """``ast.parse`` with every failure turned into a located FormulaError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # e.g. SyntaxWarning: reported as errors below
            return ast.parse(text, filename=src.filename)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        message = "invalid syntax" + (
            f": {exc.msg}" if exc.msg != "invalid syntax" else ""
        )
        raise src.error((line, col), message) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise src.error(
            (1, 1), f"cannot parse: {type(exc).__name__}: {exc}"[:200]
        ) from None


def lower_module(tree: ast.Module, src: Source, fuse: bool) -> list[Function]:
    body = list(tree.body)
    if body and is_docstring(body[0]):
        body = body[1:]
    constants: dict[str, float] = {}
    funcs: dict[str, Signature] = {}
    out: list[Function] = []
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef):
            src.defs.setdefault(stmt.name, stmt)
    defined: dict[
        str, tuple[str, int]
    ] = {}  # module-level name -> (exported function, line)
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            name, value = read_constant(stmt, src, constants)
            constants[name] = value
        elif isinstance(stmt, ast.FunctionDef):
            check_new_name(stmt.name, stmt, src, constants, funcs)
            check_function_name(stmt.name, stmt, src)
            sig = Signature(stmt, is_fuse(stmt, src))
            if sig.fuse:
                check_fuse_signature(stmt, src)
            else:
                check_generated_names(stmt, src, defined)
                out.append(lower_function(stmt, src, constants, funcs, fuse))
            funcs[stmt.name] = sig
        else:
            raise unsupported(stmt, src, "at the top level of a formula file")
    if not out:
        raise src.error((1, 1), "no function to compile (define one with 'def')")
    return out


def is_docstring(stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def unsupported(node, src: Source, where: str) -> FormulaError:
    """The error for Python syntax formulas do not have, named as people say it, with what
    to write instead where there is an obvious alternative."""
    if isinstance(node, ast.Expr) and type(node.value) in UNSUPPORTED:
        node = node.value  # `yield x` on its own line is about the yield
    what, hint = UNSUPPORTED.get(type(node), ("this Python syntax", None))
    verb = "are" if what == "imports" else "is"
    return src.error(
        node, f"{what} {verb} not supported {where}" + (f"; {hint}" if hint else "")
    )


def did_you_mean(name: str, candidates) -> str:
    """``"; did you mean `NAME`?"`` for the known name closest to ``name``, or ``""``."""
    names = sorted(set(candidates) - {name})
    close = [
        n for n in names if n.lower() == name.lower()
    ]  # X for x, Sigmoid for sigmoid
    close = close or difflib.get_close_matches(name, names, n=1, cutoff=0.8)
    return f"; did you mean `{close[0]}`?" if close else ""


def callable_names(scope: Scope) -> set[str]:
    """The names a formula can call: the operations and the file's functions."""
    return set(BUILTIN_CALLS) | {"arange"} | set(scope.funcs) | set(scope.src.defs)


def value_names(scope: Scope) -> set[str]:
    """The names a formula can use as values: variables, parameters, constants, dimensions."""
    return set(scope.env) | set(scope.constants) | set(CONSTANTS) | set(scope.dims)


def check_function_name(name: str, node, src: Source) -> None:
    """An exported function's name becomes a module attribute: refuse ones that would clash."""
    problem = function_name_problem(name)
    if problem:
        raise src.error(node, f"function name '{name}' {problem}")


def check_generated_names(
    node, src: Source, defined: dict[str, tuple[str, int]]
) -> None:
    """The names the module defines for the exported function ``node`` (its own and
    ``<name>_forward`` ...) must not be ones it defines for an earlier function; records them.
    """
    names = [node.name, *generated_names(node.name)]
    for name in names:
        if name not in defined:
            continue
        owner, line = defined[name]
        if name == node.name:
            message = f"collides with '{name}', which gradc generates for '{owner}' (line {line})"
            raise src.error(
                node, f"function name '{name}' {message}; rename one of them"
            )
        if name == owner:
            message = f"'{name}', the name of the function on line {line}"
        else:
            message = (
                f"'{name}', which gradc also generates for '{owner}' (line {line})"
            )
        raise src.error(
            node, f"function '{node.name}' would generate {message}; rename one of them"
        )
    defined.update((name, (node.name, node.lineno)) for name in names)


def check_new_name(name: str, node, src: Source, constants, funcs) -> None:
    reserved = (
        set(UNARY_FUNCS)
        | set(REDUCTIONS)
        | set(BUILTIN_CALLS)
        | set(CONSTANTS)
        | {"np", "numpy", "fuse", "wrt", "arange"}
        | set(FLOAT_TYPES)
        | {"Index"}
    )
    if name in reserved:
        raise src.error(node, f"'{name}' is a built-in name and cannot be redefined")
    if name in constants or name in funcs:
        raise src.error(node, f"'{name}' is already defined")


def read_constant(stmt: ast.Assign, src: Source, constants) -> tuple[str, float]:
    """``NAME = <number>`` (an optional unary minus allowed)."""
    if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
        raise src.error(stmt, "a module-level assignment must be 'NAME = <number>'")
    name = stmt.targets[0].id
    check_new_name(name, stmt, src, constants, {})
    value = stmt.value
    sign = 1.0
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(value.op, ast.USub) else 1.0
        value = value.operand
    return name, sign * literal(value, src, "a module constant must be a number")


def literal(node, src: Source, message: str) -> float:
    """A numeric literal as a float, refusing bools, huge integers and non-finite values."""
    if (
        not isinstance(node, ast.Constant)
        or isinstance(node.value, bool)
        or not isinstance(node.value, (int, float))
    ):
        raise src.error(node, message)
    v = node.value
    width = (getattr(node, "end_col_offset", 0) or 0) - node.col_offset
    if (
        getattr(node, "end_lineno", node.lineno) == node.lineno
        and width > 3 * MAX_LITERAL_DIGITS
    ):
        raise src.error(
            node,
            f"number literal too long (more than {3 * MAX_LITERAL_DIGITS} characters)",
        )
    if isinstance(v, int):
        if v.bit_length() > MAX_LITERAL_DIGITS * 3.33:
            raise src.error(
                node,
                f"integer literal too long (more than {MAX_LITERAL_DIGITS} digits)",
            )
    v = float(v)
    if not math.isfinite(v):
        raise src.error(node, "number literal is not finite")
    return v


def is_fuse(fn: ast.FunctionDef, src: Source) -> bool:
    fuse = False
    for d in fn.decorator_list:
        if isinstance(d, ast.Name) and d.id == "fuse":
            fuse = True
        elif (
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Name)
            and d.func.id == "wrt"
        ):
            continue
        else:
            raise src.error(
                d, "unknown decorator (only @fuse and @wrt(...) are supported)"
            )
    return fuse


def check_fuse_signature(fn: ast.FunctionDef, src: Source) -> None:
    for a in fn.args.args:
        if not (isinstance(a.annotation, ast.Name) and a.annotation.id == "Scalar"):
            raise src.error(
                a, f"@fuse function '{fn.name}': parameter '{a.arg}' must be Scalar"
            )
    if not (isinstance(fn.returns, ast.Name) and fn.returns.id == "Scalar"):
        raise src.error(fn, f"@fuse function '{fn.name}' must return Scalar")
    if any(isinstance(d, ast.Call) for d in fn.decorator_list):
        raise src.error(fn, f"@fuse function '{fn.name}' cannot have @wrt")


# ---------------------------------------------------------------- signatures


def read_type(ann, src: Source, scope: Scope, what: str) -> tuple[tuple, str, str]:
    """An annotation as ``(shape, dtype, text)``; dimension names become symbols."""
    if ann is None:
        raise src.error(
            what[1], f"{what[0]} needs a type annotation (Scalar, Vector[n], ...)"
        )
    if isinstance(ann, ast.Name):
        kind, dims_ast = ann.id, []
    elif isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name):
        kind = ann.value.id
        dims_ast = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    else:
        raise src.error(
            ann,
            "unknown type (use Scalar, Vector[n], Matrix[m, n], Tensor[...], "
            "Index or Index[n])",
        )
    if kind not in FLOAT_TYPES and kind != "Index":
        raise src.error(
            ann, f"unknown type '{kind}'" + did_you_mean(kind, [*FLOAT_TYPES, "Index"])
        )
    want = FLOAT_TYPES.get(kind)
    if kind == "Scalar" and dims_ast:
        raise src.error(ann, "Scalar takes no dimensions")
    if want is not None and kind != "Scalar" and len(dims_ast) != want:
        raise src.error(ann, f"{kind} takes {want} dimension{'s' * (want > 1)}")
    if kind == "Tensor" and not dims_ast:
        raise src.error(ann, "Tensor needs its dimensions, e.g. Tensor[b, m, n]")
    if (
        what[0] == "the return"
    ):  # sizes computed from the parameters' (Vector[(n + 1) // 2])
        shape = tuple(return_dim(d, src, scope) for d in dims_ast)
    else:
        shape = tuple(read_dim(d, src, scope) for d in dims_ast)
    return shape, ("int" if kind == "Index" else "float"), ast.unparse(ann)


def annotation_dims(ann) -> list:
    """The dimension nodes of a type annotation (``Matrix[m, n]``: ``m`` and ``n``)."""
    if isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name):
        return ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
    return []


def declare_dims(args: list, src: Source, scope: Scope) -> None:
    """Register, in order of appearance, every dimension name that stands alone among the
    parameters' dimensions, so that an expression (``4 * H``) may use a name that stands
    alone only in a later parameter."""
    for a in args:
        for d in annotation_dims(a.annotation):
            if isinstance(d, ast.Name):
                read_dim(d, src, scope)


def read_dim(d, src: Source, scope: Scope):
    if isinstance(d, ast.Name):
        if d.id in CONSTANTS or d.id in scope.constants:
            raise src.error(
                d,
                f"dimension name '{d.id}' is taken by the constant {d.id}; "
                "choose another name",
            )
        if d.id not in scope.dims:
            scope.dims[d.id] = dim_symbol(d.id)
        return scope.dims[d.id]
    if isinstance(d, ast.Constant) and type(d.value) is int and 0 < d.value < 2**31:
        return d.value
    if isinstance(d, ast.Constant) or not isinstance(d, (ast.BinOp, ast.UnaryOp)):
        raise src.error(
            d,
            "a dimension is a positive integer, a name or an expression of "
            "them with + - * //",
        )
    return parameter_dim(d, src, scope)


def parameter_dim(d, src: Source, scope: Scope):
    """A dimension expression of a parameter (``4 * H``, ``H - 2``): each name in it must
    stand alone as a dimension of some parameter, where its size is read; a constant
    expression must be positive."""
    for n in ast.walk(d):
        if isinstance(n, ast.Name) and (n.id in CONSTANTS or n.id in scope.constants):
            raise src.error(
                n,
                f"'{n.id}' is a constant; a dimension expression is made of "
                "dimension names and integer literals",
            )
        if isinstance(n, ast.Name) and n.id not in scope.dims:
            raise src.error(
                n,
                f"dimension '{n.id}' appears only inside an expression; it must "
                f"also stand alone as a dimension of some parameter (as in "
                f"Vector[{n.id}]) so that its size is read from a shape",
            )
    value = canon(dim_expression(d, scope))
    if isinstance(value, int) and value <= 0:
        raise src.error(
            d, f"dimension {ast.unparse(d)} is {value}; a dimension is positive"
        )
    return value


def return_dim(d, src: Source, scope: Scope):
    """A dimension of the return annotation: as a parameter's, or an expression (``n - 1``,
    ``(n + 1) // 2``) of the parameters' dimension names, as slices and reshapes make."""
    if isinstance(d, (ast.Name, ast.Constant)):
        return read_dim(d, src, scope)
    return canon(dim_expression(d, scope))


def lower_function(
    fn: ast.FunctionDef, src: Source, constants, funcs, fuse: bool
) -> Function:
    """One exported ``def`` -> a ``Function`` holding its forward graph."""
    b = Builder(rewrite=make_rewriter(fuse=fuse))
    scope = Scope(src, b, constants, funcs, fuse=fuse)
    args = fn.args
    if (
        args.vararg
        or args.kwarg
        or args.kwonlyargs
        or args.posonlyargs
        or args.defaults
    ):
        raise src.error(
            fn, "parameters must be plain annotated names (no defaults, *args, **kw)"
        )
    params: list[Param] = []
    wrt = read_wrt(fn, src)
    seen: set[str] = set()
    declare_dims(args.args, src, scope)
    for a in args.args:
        if a.arg in seen:
            raise src.error(a, f"duplicate parameter '{a.arg}'")
        seen.add(a.arg)
        shape, dtype, text = read_type(
            a.annotation, src, scope, ("parameter " + a.arg, a)
        )
        node = b.emit("param", name=a.arg, shape=shape, dtype=dtype)
        scope.env[a.arg] = node
        params.append((a, dtype, text, node))
    for name, node in wrt.items():
        if name not in seen:
            raise src.error(node, f"@wrt names '{name}', which is not a parameter")
    out_shape, out_dtype, out_text = read_type(
        fn.returns, src, scope, ("the return", fn)
    )
    for a in args.args:
        if (
            a.arg in scope.dims
        ):  # in the body the name would mean one of the two silently
            raise src.error(
                a, f"parameter '{a.arg}' has the name of a dimension; rename one"
            )
    if out_dtype != "float":
        raise src.error(fn.returns, "the return type must be a float type")
    plist = []
    for a, dtype, text, node in params:
        if a.arg in wrt and dtype != "float":
            raise src.error(
                wrt[a.arg], f"cannot differentiate with respect to Index '{a.arg}'"
            )
        plist.append(
            Param(a.arg, node, text, dtype == "float" and (not wrt or a.arg in wrt))
        )
    if not any(p.wrt for p in plist):
        raise src.error(fn, f"function '{fn.name}' has no float input to differentiate")
    doc, out = lower_body(fn, scope)
    if b.shape(out) != out_shape:
        raise src.error(
            fn.body[-1],
            f"'{fn.name}' returns shape {format_shape(b.shape(out))} "
            f"but is annotated {out_text} {format_shape(out_shape)}",
        )
    loc = Loc(fn.lineno, fn.col_offset + 1, src.line(fn.lineno).strip(), fn.name)
    dims = {name: name for name in scope.dims}
    first = fn.body[1] if doc and len(fn.body) > 1 else fn.body[0]
    source = [src.line(k) for k in range(first.lineno, fn.body[-1].end_lineno + 1)]
    indent = min((len(t) - len(t.lstrip()) for t in source if t.strip()), default=0)
    source = [t[indent:].rstrip() for t in source if t.strip()]
    return Function(
        fn.name,
        doc,
        plist,
        b.nodes,
        out,
        out_text,
        loc,
        src.filename,
        rewrites=list(b.fired),
        dims=dims,
        source=source,
    )


def read_wrt(fn: ast.FunctionDef, src: Source) -> dict:
    wrt: dict = {}
    for d in fn.decorator_list:
        if (
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Name)
            and d.func.id == "wrt"
        ):
            if d.keywords or not d.args:
                raise src.error(d, "@wrt takes parameter names: @wrt(w, b)")
            for a in d.args:
                if not isinstance(a, ast.Name):
                    raise src.error(a, "@wrt takes parameter names")
                wrt[a.id] = a
        elif not (isinstance(d, ast.Name) and d.id == "fuse"):
            raise src.error(
                d, "unknown decorator (only @fuse and @wrt(...) are supported)"
            )
    return wrt


def lower_body(fn: ast.FunctionDef, scope: Scope) -> tuple[str, int]:
    """Lower the statements of ``fn`` in ``scope``; returns (docstring, output node)."""
    src = scope.src
    body = list(fn.body)
    doc = ""
    if body and is_docstring(body[0]):
        doc = body[0].value.value
        body = body[1:]
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        raise src.error(
            body[-1] if body else fn,
            f"function '{fn.name}' must end with 'return <expression>'",
        )
    for stmt in body[:-1]:
        lower_statement(stmt, scope)
    ret = body[-1]
    scope.stmt = "out"
    with scope.b.at(scope.call_loc or stmt_loc(ret, "out", src)):
        out = lower_expr(ret.value, scope)
    if not scope.inlining:
        scope.b.name(out, "out")
    return doc, out


def stmt_loc(stmt, label: str, src: Source) -> Loc:
    return Loc(stmt.lineno, stmt.col_offset + 1, src.line(stmt.lineno).strip(), label)


def lower_statement(stmt, scope: Scope) -> None:
    src = scope.src
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            raise assignment_error(stmt, src)
        target, value = stmt.targets[0], stmt.value
    elif isinstance(stmt, ast.AugAssign):
        if not isinstance(stmt.target, ast.Name) or type(stmt.op) not in (
            ast.Add,
            ast.Sub,
            ast.Mult,
            ast.Div,
        ):
            raise augassign_error(stmt, src)
        target = stmt.target
        if target.id not in scope.env:
            raise src.error(target, f"'{target.id}' is used before it is assigned")
        value = ast.BinOp(
            left=ast.Name(target.id, ast.Load()), op=stmt.op, right=stmt.value
        )
        ast.copy_location(value, stmt.value)
        ast.copy_location(value.left, target)
    elif isinstance(stmt, ast.Return):
        raise src.error(stmt, "'return' must be the last statement")
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        raise src.error(
            stmt, "a string or value on its own line is not a statement here"
        )
    elif isinstance(stmt, ast.AnnAssign):
        raise src.error(
            stmt, "annotated assignments are not supported; write 'x = ...'"
        )
    else:
        raise unsupported(stmt, src, "in a formula")
    name = target.id
    if (
        name in scope.constants
        or name in scope.funcs
        or name in CONSTANTS
        or name in scope.dims
    ):
        raise src.error(
            target,
            f"cannot assign to '{name}': it names a constant, function or dimension",
        )
    check_reserved(name, target, src)
    scope.stmt = name
    with scope.b.at(scope.call_loc or stmt_loc(stmt, name, src)):
        node = lower_expr(value, scope)
    scope.b.name(node, name)
    scope.env[name] = node


def assignment_error(stmt: ast.Assign, src: Source) -> FormulaError:
    """The error for an assignment to something other than one name."""
    target = stmt.targets[-1]
    if isinstance(target, ast.Subscript):
        return unsupported(target, src, "(it is planned)")
    if len(stmt.targets) > 1:
        return src.error(
            stmt, "assign one name at a time: `a = ...`, not `a = b = ...`"
        )
    return src.error(
        stmt,
        "assign one name at a time: `a = ...` on one line, `b = ...` on the "
        "next (unpacking into several names is not supported)",
    )


def augassign_error(stmt: ast.AugAssign, src: Source) -> FormulaError:
    """The error for an augmented assignment other than ``name += -= *= /= value``."""
    if not isinstance(stmt.target, ast.Name):
        return unsupported(stmt.target, src, "(it is planned)")
    value = (
        stmt.value if depth(stmt.value) <= MAX_DEPTH else ast.Name("...")
    )  # unparse recurses
    spelled = ast.unparse(ast.BinOp(stmt.target, stmt.op, value))
    op = spelled[len(stmt.target.id) + 1 :].split(" ", 1)[0]
    hint = f"; write `{stmt.target.id} = {spelled}`" if type(stmt.op) in BINOPS else ""
    return src.error(
        stmt, f"`{op}=` is not supported (only `+=`, `-=`, `*=` and `/=`){hint}"
    )


def check_reserved(name: str, node, src: Source) -> None:
    if name in BUILTIN_CALLS or name in ("np", "numpy", "arange", "fuse", "wrt"):
        raise src.error(node, f"cannot assign to '{name}': it is a built-in name")


# ---------------------------------------------------------------- expressions


def depth(node) -> int:
    """Nesting depth of an expression, measured without recursion."""
    best, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        if d > MAX_DEPTH:
            return d
        stack.extend((c, d + 1) for c in ast.iter_child_nodes(n))
    return best


def lower_expr(node, scope: Scope) -> int:
    """Lower a whole expression (after checking its depth) to a node index."""
    if depth(node) > MAX_DEPTH:
        raise scope.src.error(node, f"expression nested too deeply (limit {MAX_DEPTH})")
    return expr(node, scope)


def emit(scope: Scope, at, op: str, *args: int, **attrs) -> int:
    """Make a node, turning shape errors into a FormulaError at AST node ``at``."""
    try:
        i = scope.b.emit(op, *args, **attrs)
    except ShapeError as exc:
        raise scope.src.error(at, str(exc)) from None
    if len(scope.b.nodes) > MAX_NODES:
        raise scope.src.error(at, f"formula too large (more than {MAX_NODES} nodes)")
    return i


def expr(node, scope: Scope) -> int:
    handler = EXPRESSIONS.get(type(node))
    if handler is None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            raise scope.src.error(node, "strings are not supported in formulas")
        raise unsupported(node, scope.src, "in a formula")
    return handler(node, scope)


def float_value(i: int, scope: Scope, at) -> int:
    node = scope.b[i]
    if node.dtype == "int" and node.op != "dim":
        raise scope.src.error(
            at,
            "an Index value can only be used to index an array (or be "
            "indexed: i[:, None])",
        )
    if node.dtype == "bool":
        raise scope.src.error(
            at, "a comparison can only be used as the condition of where()"
        )
    return i


def value(node, scope: Scope) -> int:
    """A float-valued subexpression."""
    return float_value(expr(node, scope), scope, node)


def name_expr(node: ast.Name, scope: Scope) -> int:
    n = node.id
    if n in scope.env:
        return scope.env[n]
    if n in scope.constants:
        return emit(scope, node, "const", value=scope.constants[n])
    if n in CONSTANTS:
        return emit(scope, node, "const", value=CONSTANTS[n])
    if n in scope.dims:
        return emit(scope, node, "dim", expr=scope.dims[n])
    if n in scope.funcs or n in BUILTIN_CALLS:
        raise scope.src.error(node, f"'{n}' is a function; call it")
    hint = did_you_mean(n, value_names(scope)) or did_you_mean(n, callable_names(scope))
    raise scope.src.error(node, f"unknown name '{n}'{hint}")


def constant_expr(node: ast.Constant, scope: Scope) -> int:
    if node.value is None:
        raise scope.src.error(node, "None is only allowed inside an index")
    return emit(
        scope,
        node,
        "const",
        value=literal(node, scope.src, literal_problem(node.value)),
    )


def literal_problem(v) -> str:
    """The error message for a literal that is not a number (``...``, ``True``, ``1j``)."""
    if v is Ellipsis:
        return "`...` is not supported (write the slices out: `x[:, 0]`)"
    if isinstance(v, bool):
        return f"`{v}` is not a number here; write {float(v)}"
    if isinstance(v, complex):
        return "a complex number is not supported (formulas are real-valued)"
    if isinstance(v, bytes):
        return "a bytes string is not supported in a formula"
    return "this literal is not a number"


def binop_expr(node: ast.BinOp, scope: Scope) -> int:
    op = BINOPS.get(type(node.op))
    if op is None:
        raise operator_error(node, node.op, scope.src)
    if (
        op == "pow"
        and isinstance(node.right, ast.Constant)
        and isinstance(node.right.value, (int, float))
        and not isinstance(node.right.value, bool)
    ):
        if abs(node.right.value) > MAX_EXPONENT:
            raise scope.src.error(
                node.right, f"exponent too large (limit {MAX_EXPONENT:g})"
            )
    left, right = value(node.left, scope), value(node.right, scope)
    if (
        op == "pow"
        and scope.b.is_const(right)
        and abs(scope.b[right].attr("value")) > MAX_EXPONENT
    ):
        raise scope.src.error(
            node.right, f"exponent too large (limit {MAX_EXPONENT:g})"
        )
    out = emit(scope, node, op, left, right)
    b = scope.b
    if op == "pow" and b.is_const(left) and b.is_const(right) and not b.is_const(out):
        k = b[right].attr("value")
        if k == int(k):  # integer powers of constants are folded unless they overflow
            raise scope.src.error(node, "constant expression overflows or is undefined")
    return out


def unary_expr(node: ast.UnaryOp, scope: Scope) -> int:
    if isinstance(node.op, ast.USub):
        return emit(scope, node, "neg", value(node.operand, scope))
    if isinstance(node.op, ast.UAdd):
        return value(node.operand, scope)
    raise operator_error(node, node.op, scope.src)


def operator_error(node, op, src: Source) -> FormulaError:
    """The error for an operator formulas do not have, named as people say it."""
    what, hint = OPERATORS.get(type(op), (f"operator `{type(op).__name__}`", None))
    if isinstance(op, ast.BitXor) and isinstance(node, ast.BinOp):
        hint = (
            f"for a power write `{ast.unparse(node.left)} ** {ast.unparse(node.right)}`"
        )
    return src.error(node, f"{what} is not supported" + (f"; {hint}" if hint else ""))


def attribute_expr(node: ast.Attribute, scope: Scope) -> int:
    if (
        isinstance(node.value, ast.Name)
        and node.value.id in ("np", "numpy")
        and node.attr in CONSTANTS
    ):
        return emit(scope, node, "const", value=CONSTANTS[node.attr])
    if node.attr == "T":
        x = expr(node.value, scope)
        nd = len(scope.b.shape(x))
        if nd < 2:
            return x
        return emit(scope, node, "transpose", x, axes=tuple(reversed(range(nd))))
    raise attribute_error(node, scope)


def attribute_error(node: ast.Attribute, scope: Scope) -> FormulaError:
    """The error for ``x.attr`` other than ``.T`` and ``np.pi``/``np.e``, with what to
    write instead where there is an obvious alternative."""
    if isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy"):
        return scope.src.error(
            node,
            f"'{ast.unparse(node)}' is not a formula constant (the "
            "constants are `pi` and `e`, or `np.pi` and `np.e`)",
        )
    if node.attr in ("shape", "size", "ndim"):
        return scope.src.error(
            node,
            f"attribute access '.{node.attr}' is not supported; sizes "
            "are dimension names: in `x: Vector[n]`, write `n`",
        )
    return scope.src.error(
        node, f"attribute access '.{node.attr}' is not supported (only .T)"
    )


def subscript_expr(node: ast.Subscript, scope: Scope) -> int:
    x = indexed_value(node.value, scope)
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    spec, arrays = [], []
    for it in items:
        if isinstance(it, ast.Slice):
            bounds = (slice_bound(it.lower, scope), slice_bound(it.upper, scope))
            spec.append(("s",) + bounds + (index_int(it.step, scope, True),))
            if spec[-1][3] == 0:
                raise scope.src.error(it, "slice step cannot be zero")
        elif isinstance(it, ast.Constant) and it.value is None:
            spec.append(("n",))
        elif is_int_literal(it):
            spec.append(("i", index_int(it, scope, False)))
        else:
            if scope.b[x].dtype == "int":
                raise scope.src.error(
                    it,
                    "an Index value or arange(n) is indexed only with "
                    "integers, slices and None (i[:, None], i[1:])",
                )
            arr = index_array(it, scope)
            arrays.append(arr)
            spec.append(("a", len(arrays)))
    return emit(scope, node, "getitem", x, *arrays, index=tuple(spec))


def indexed_value(node, scope: Scope) -> int:
    """The value a subscript indexes: a float value, or an integer array (an ``Index``
    parameter, ``arange(n)``, or one of them indexed) for basic indexing that makes a
    broadcasting index (``i[:, None]``); the result is again usable only as an index."""
    if isinstance(node, ast.Call) and call_name(node, scope) == "arange":
        return arange_expr(node, scope)
    i = expr(node, scope)
    if scope.b[i].dtype == "int" and scope.b[i].op != "dim":
        return i
    return float_value(i, scope, node)


def is_int_literal(node) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def slice_bound(node, scope: Scope):
    """A slice's start or stop: None, an int literal, or a dimension expression (``n - 1``,
    ``n // 2``: dimension names and int literals with ``+ - * //``) as a SymPy expression."""
    if node is None or is_int_literal(node):
        return index_int(node, scope, True)
    return canon(dim_expression(node, scope))


DIM_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def dim_expression(node, scope: Scope):
    """A SymPy integer expression of dimension names and int literals (``+ - * //``, unary
    minus; a floor division by a positive literal), else a located error."""
    if isinstance(node, ast.Name) and node.id in scope.dims:
        return scope.dims[node.id]
    if is_int_literal(node):
        return sympy.Integer(index_int(node, scope, False))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -dim_expression(node.operand, scope)
    if isinstance(node, ast.BinOp) and type(node.op) in DIM_OPS:
        return DIM_OPS[type(node.op)](
            dim_expression(node.left, scope), dim_expression(node.right, scope)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.FloorDiv):
        k = index_int(node.right, scope, False) if is_int_literal(node.right) else 0
        if k <= 0:
            raise scope.src.error(
                node.right, "a dimension is floor-divided by a positive integer"
            )
        return sympy.floor(dim_expression(node.left, scope) / k)
    if isinstance(node, ast.Name):
        raise scope.src.error(node, f"'{node.id}' is not a dimension of the parameters")
    raise scope.src.error(
        node,
        "expected an integer literal or an expression of dimension "
        "names with + - * // (n - 1, n // 2)",
    )


def index_int(node, scope: Scope, optional: bool):
    if node is None and optional:
        return None
    if not is_int_literal(node):
        raise scope.src.error(node, "slice bounds must be integer literals")
    sign = -1 if isinstance(node, ast.UnaryOp) else 1
    v = node.operand.value if sign < 0 else node.value
    if abs(v) >= 2**31:
        raise scope.src.error(node, "index too large")
    return sign * v


def index_array(node, scope: Scope) -> int:
    if isinstance(node, ast.Call) and call_name(node, scope) == "arange":
        return arange_expr(node, scope)
    i = expr(node, scope)
    if scope.b[i].dtype != "int" or scope.b[i].op == "dim":
        raise scope.src.error(
            node,
            "an index must be an integer literal, a slice, None, an Index "
            "array or arange(n)",
        )
    return i


def arange_expr(node: ast.Call, scope: Scope) -> int:
    """``arange(n)`` of a dimension name or a positive int literal (an index, or indexed)."""
    if len(node.args) != 1 or node.keywords:
        raise scope.src.error(node, "arange takes one dimension: arange(n)")
    a = node.args[0]
    if isinstance(a, ast.Name) and a.id in scope.dims:
        n = scope.dims[a.id]
    elif isinstance(a, ast.Constant) and type(a.value) is int and 0 < a.value < 2**31:
        n = a.value
    else:
        raise scope.src.error(a, "arange takes a dimension name or a positive integer")
    return emit(scope, node, "arange", n=n)


def call_name(node: ast.Call, scope: Scope) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        parts = [f.attr]
        v = f.value
        while isinstance(v, ast.Attribute):
            parts.append(v.attr)
            v = v.value
        if isinstance(v, ast.Name):
            parts.append(v.id)
            parts.reverse()
            if parts[0] in ("np", "numpy") and (
                len(parts) == 2 or parts[1:] == ["linalg", "norm"]
            ):
                return parts[-1]
            if parts[0] not in value_names(
                scope
            ):  # math.exp(x), not a method of a value
                raise module_function_error(node, parts, scope)
        raise method_error(node, scope)
    raise scope.src.error(
        node.func, f"unknown function '{ast.unparse(node.func)[:60]}'"
    )


def module_function_error(
    node: ast.Call, parts: list[str], scope: Scope
) -> FormulaError:
    """The error for a call through a prefix other than ``np.`` (``math.exp(x)``,
    ``np.linalg.inv(x)``): the operation's own name when there is one."""
    name = ".".join(parts)[:60]
    if parts[-1] in BUILTIN_CALLS:
        return scope.src.error(
            node.func,
            f"unknown function '{name}'; write `{parts[-1]}(...)`: "
            "formula files use the built-in operations (`np.` prefixes "
            "are allowed)",
        )
    return scope.src.error(
        node.func, f"unknown function '{name}'" + did_you_mean(parts[-1], BUILTIN_CALLS)
    )


def operand(node) -> str:
    """``node`` as source text fit to be an operand of ``@`` (parenthesized unless atomic)."""
    text = ast.unparse(node)
    atomic = isinstance(
        node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call, ast.Constant)
    )
    return text if atomic else f"({text})"


def method_error(node: ast.Call, scope: Scope) -> FormulaError:
    """The error for a method call (``x.dot(w)``, ``X.mean(axis=0)``): the function form
    with the same arguments when there is one (``x @ w``, ``mean(X, axis=0)``)."""
    f = node.func
    call = ast.unparse(node)
    call = call if len(call) <= 60 else call[:57] + "..."
    head = f"method `{call}` is not supported"
    if f.attr not in BUILTIN_CALLS:
        return scope.src.error(
            f,
            f"{head}: formulas call functions, as in `sum(x)`"
            + did_you_mean(f.attr, BUILTIN_CALLS),
        )
    obj = ast.unparse(f.value)
    args = [ast.unparse(a) for a in node.args]
    if (
        f.attr == "reshape" and len(args) > 1
    ):  # x.reshape(m, n): NumPy's sizes as arguments
        args = [f"({', '.join(args)})"]
    text = (
        f"{f.attr}({', '.join([obj, *args, *(ast.unparse(k) for k in node.keywords)])})"
    )
    if f.attr == "dot" and len(args) == 1 and not node.keywords:
        text = f"{operand(f.value)} @ {operand(node.args[0])}` (or `{text}`)"
        return scope.src.error(f, f"{head}: write `{text}")
    if f.attr == "transpose" and not args and not node.keywords:
        text = f"{text}` or `{ast.unparse(ast.Attribute(f.value, 'T'))}"
    return scope.src.error(f, f"{head}: write `{text}`")


def call_expr(node: ast.Call, scope: Scope) -> int:
    name = call_name(node, scope)
    if isinstance(node.func, ast.Name) and name in scope.funcs:
        return inline_call(node, scope.funcs[name], scope)
    lower = BUILTIN_CALLS.get(name)
    if lower is None:
        if name == "arange":
            raise scope.src.error(
                node,
                "arange(n) can only be used as an index or indexed "
                "(arange(n)[:, None])",
            )
        raise unknown_function(node, name, scope)
    if any(k.arg is None for k in node.keywords) or any(
        isinstance(a, ast.Starred) for a in node.args
    ):
        raise scope.src.error(node, "'*' and '**' arguments are not supported")
    return lower(node, scope, name)


def unknown_function(node: ast.Call, name: str, scope: Scope) -> FormulaError:
    """The error for a call of a name that is no operation and no function defined above:
    the function itself (recursion), one defined further down, or a guess at the name."""
    if isinstance(node.func, ast.Attribute):  # np.sigmod(x)
        return scope.src.error(
            node.func,
            f"unknown function '{ast.unparse(node.func)[:60]}'"
            + did_you_mean(name, BUILTIN_CALLS),
        )
    later = scope.src.defs.get(name)
    if later is not None and later.lineno <= node.lineno <= later.end_lineno:
        return scope.src.error(
            node.func, f"'{name}' calls itself; recursion is not supported"
        )
    if later is not None:
        return scope.src.error(
            node.func,
            f"'{name}' is defined below, on line {later.lineno}: "
            "define it above its first use",
        )
    return scope.src.error(
        node.func,
        f"unknown function '{name}'" + did_you_mean(name, callable_names(scope)),
    )


def arity(node: ast.Call, scope: Scope, name: str, n: int, keywords=()) -> None:
    if len(node.args) != n:
        raise scope.src.error(
            node,
            f"{name}() takes {n} positional argument{'s' * (n != 1)}, "
            f"got {len(node.args)}",
        )
    for k in node.keywords:
        if k.arg not in keywords:
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")


def call_unary(node, scope, name):
    arity(node, scope, name, 1)
    return emit(scope, node, name, value(node.args[0], scope))


def call_binary(node, scope, name):
    arity(node, scope, name, 2)
    return emit(
        scope, node, name, value(node.args[0], scope), value(node.args[1], scope)
    )


def kwarg(node: ast.Call, key: str, pos: int, default):
    for k in node.keywords:
        if k.arg == key:
            return k.value
    if len(node.args) > pos:
        return node.args[pos]
    return default


def read_axis(node, scope: Scope, ndim: int, allow_none=True):
    if node is None or (
        isinstance(node, ast.Constant) and node.value is None and allow_none
    ):
        return None
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    vals = []
    for it in items:
        if not is_int_literal(it):
            raise scope.src.error(it, "axis must be an integer or a tuple of integers")
        vals.append(index_int(it, scope, False))
    try:
        return norm_axis(tuple(vals) if isinstance(node, ast.Tuple) else vals[0], ndim)
    except ShapeError as exc:
        raise scope.src.error(node, str(exc)) from None


def read_bool(node, scope: Scope) -> bool:
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value
    raise scope.src.error(node, "keepdims must be True or False")


def call_reduction(node, scope, name):
    if not 1 <= len(node.args) <= 2:
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    for k in node.keywords:
        if k.arg not in ("axis", "keepdims"):
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    axis = read_axis(kwarg(node, "axis", 1, None), scope, nd)
    keep = read_bool(kwarg(node, "keepdims", 2, None), scope)
    if axis is not None and len(axis) == nd and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep)


def call_softmax(node, scope, name):
    if not 1 <= len(node.args) <= 2:
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    for k in node.keywords:
        if k.arg != "axis":
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    if nd == 0:
        raise scope.src.error(node, f"{name}() needs an array, not a scalar")
    ax_node = kwarg(node, "axis", 1, None)
    axis = (
        read_axis(ax_node, scope, nd, allow_none=False)
        if ax_node is not None
        else (nd - 1,)
    )
    if axis is None or len(axis) != 1:
        raise scope.src.error(node, f"{name}() takes a single axis")
    return emit(scope, node, name, x, axis=axis[0])


def call_clip(node, scope, name):
    arity(node, scope, name, 3)
    return emit(scope, node, "clip", *(value(a, scope) for a in node.args))


def call_where(node, scope, name):
    arity(node, scope, name, 3)
    c = node.args[0]
    if not isinstance(c, ast.Compare):
        raise scope.src.error(
            c, "the condition of where() must be one comparison: <, <=, >, >=, == or !="
        )
    cond = condition(c, scope)
    return emit(
        scope,
        node,
        "where",
        cond,
        value(node.args[1], scope),
        value(node.args[2], scope),
    )


def condition(c: ast.Compare, scope: Scope) -> int:
    """The bool node of one comparison ``a < b`` (``<, <=, >, >=, ==, !=``)."""
    if len(c.ops) != 1:
        raise scope.src.error(
            c,
            "chained comparisons are not supported: compare two values "
            "at a time, as in (0 < x) * (x < 1)",
        )
    if type(c.ops[0]) not in COMPARES:
        word = {ast.Is: "is", ast.IsNot: "is not", ast.In: "in"}.get(
            type(c.ops[0]), "not in"
        )
        raise scope.src.error(
            c, f"comparison '{word}' is not supported: use <, <=, >, >=, == or !="
        )
    return emit(
        scope,
        c,
        COMPARES[type(c.ops[0])],
        value(c.left, scope),
        value(c.comparators[0], scope),
    )


def compare_expr(node: ast.Compare, scope: Scope) -> int:
    """A comparison used as a number (``x * (t - (x >= 0))``): the float mask 1.0 where it
    holds, else 0.0, as NumPy's bools count in arithmetic. Built as ``where(c, 1.0, 0.0)``,
    whose adjoint sends nothing to the condition or the constants: the mask is a constant
    for differentiation (its derivative is 0 away from the boundary)."""
    cond = condition(node, scope)
    return emit(
        scope,
        node,
        "where",
        cond,
        emit(scope, node, "const", value=1.0),
        emit(scope, node, "const", value=0.0),
    )


def call_moment(node, scope, name):
    """``var(x, axis=None, ddof=0, keepdims=False)`` and ``std``, as NumPy's: ``ddof`` an
    int literal below the number of elements reduced (when that is known)."""
    if not 1 <= len(node.args) <= 2:
        raise scope.src.error(node, f"{name}() takes an array and optionally an axis")
    for k in node.keywords:
        if k.arg not in ("axis", "ddof", "keepdims"):
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    x = value(node.args[0], scope)
    shape = scope.b.shape(x)
    axis = read_axis(kwarg(node, "axis", 1, None), scope, len(shape))
    keep = read_bool(kwarg(node, "keepdims", len(node.args), None), scope)
    ddof = read_ddof(kwarg(node, "ddof", len(node.args), None), scope)
    n = size(shape if axis is None else tuple(shape[k] for k in axis))
    if isinstance(n, int) and ddof >= n:
        raise scope.src.error(
            node,
            f"{name}() with ddof={ddof} of {n} element{'s' * (n != 1)} "
            f"divides by {n - ddof}",
        )
    if axis is not None and len(axis) == len(shape) and not keep:
        axis = None
    return emit(scope, node, name, x, axis=axis, keepdims=keep, ddof=ddof)


def read_ddof(node, scope: Scope) -> int:
    """``ddof=``: a non-negative int literal (0 when not given)."""
    if node is None:
        return 0
    if not is_int_literal(node) or index_int(node, scope, False) < 0:
        raise scope.src.error(node, "ddof must be a non-negative integer")
    return index_int(node, scope, False)


def call_einsum(node, scope, name):
    """``einsum("ij,jk->ik", a, b)``: a literal subscript string of letters, one per axis
    of each operand, distinct within an operand; without ``->`` the output is NumPy's
    (the letters that appear once, in alphabetical order)."""
    spec = node.args[0] if node.args else None
    if (
        not (isinstance(spec, ast.Constant) and isinstance(spec.value, str))
        or node.keywords
    ):
        raise scope.src.error(
            node,
            "einsum() takes a literal subscript string and the "
            'operands: einsum("ij,jk->ik", a, b)',
        )
    text = spec.value.replace(" ", "")
    ins = text.split("->")[0].split(",")
    if text.count("->") > 1 or not re.fullmatch(r"[a-zA-Z,]*(->[a-zA-Z]*)?", text):
        raise scope.src.error(
            spec, "einsum subscripts are letters, commas and one '->' (no '...')"
        )
    if len(ins) != len(node.args) - 1:
        raise scope.src.error(
            node, f"einsum: {len(ins)} subscripts for {len(node.args) - 1} operands"
        )
    out = (
        text.split("->")[1]
        if "->" in text
        else "".join(sorted(c for c in set("".join(ins)) if "".join(ins).count(c) == 1))
    )
    for letters in ins + [out]:
        if len(set(letters)) != len(letters):
            raise scope.src.error(
                spec,
                f"einsum: a letter repeated in '{letters}' (a "
                "diagonal) is not supported",
            )
    if set(out) - set("".join(ins)):
        raise scope.src.error(
            spec,
            f"einsum: output letters {''.join(sorted(set(out) - set(''.join(ins))))} "
            "appear in no operand",
        )
    args = [value(a, scope) for a in node.args[1:]]
    return emit(scope, node, "einsum", *args, spec=",".join(ins) + "->" + out)


def call_transpose(node, scope, name):
    if not 1 <= len(node.args) <= 2 or node.keywords and node.keywords[0].arg != "axes":
        raise scope.src.error(node, "transpose() takes an array and optionally axes")
    x = value(node.args[0], scope)
    nd = len(scope.b.shape(x))
    ax_node = kwarg(node, "axes", 1, None)
    if ax_node is None:
        axes = tuple(reversed(range(nd)))
    else:
        if not isinstance(ax_node, ast.Tuple):
            raise scope.src.error(ax_node, "axes must be a tuple of integers")
        axes = tuple(transpose_axis(a, scope, nd) for a in ax_node.elts)
    if nd < 2 and ax_node is None:
        return x
    return emit(scope, node, "transpose", x, axes=axes)


def transpose_axis(node, scope: Scope, nd: int) -> int:
    """One axis of ``transpose(x, axes)``: an int literal in ``-nd <= a < nd``, made
    non-negative; anything else is a located error (NumPy raises AxisError)."""
    a = index_int(node, scope, False)
    if not -nd <= a < nd:
        raise scope.src.error(
            node, f"axis {a} is out of range for an array of {nd} dimensions"
        )
    return a % nd


def call_reshape(node, scope, name):
    arity(node, scope, name, 2)
    x = value(node.args[0], scope)
    s = node.args[1]
    items = s.elts if isinstance(s, ast.Tuple) else [s]
    dims, free = [], None
    for k, it in enumerate(items):
        if is_int_literal(it) and index_int(it, scope, False) == -1:
            if free is not None:
                raise scope.src.error(it, "only one dimension can be -1")
            free = k
            dims.append(None)
        elif isinstance(it, ast.Name) and it.id in scope.dims:
            dims.append(scope.dims[it.id])
        elif isinstance(it, ast.Constant) and type(it.value) is int and it.value > 0:
            dims.append(it.value)
        elif isinstance(it, (ast.BinOp, ast.UnaryOp)):
            dims.append(reshape_size(it, scope))
        else:
            raise scope.src.error(
                it,
                "reshape sizes are positive integers, dimension names, "
                "expressions of them with + - * // (C * H * W) or -1",
            )
    if free is not None:
        known = size(tuple(d for d in dims if d is not None))
        dims[free] = canon(sympy.Integer(1) * size(scope.b.shape(x)) / known)
        if not (isinstance(dims[free], int) or dims[free].is_integer):
            raise scope.src.error(
                s,
                f"cannot reshape {format_shape(scope.b.shape(x))} "
                f"into {ast.unparse(s)}",
            )
    return emit(scope, node, "reshape", x, shape=tuple(dims))


def reshape_size(node, scope: Scope):
    """One size of ``reshape(x, (N, C * H * W))`` given as an expression of dimension
    names and int literals; a constant one must be positive."""
    d = canon(dim_expression(node, scope))
    if isinstance(d, int) and d <= 0:
        raise scope.src.error(
            node,
            f"reshape size {ast.unparse(node)} is {d}; sizes are "
            "positive (or a single -1)",
        )
    return d


def call_sequence(node, scope, name):
    if not 1 <= len(node.args) <= 2 or not isinstance(
        node.args[0], (ast.List, ast.Tuple)
    ):
        raise scope.src.error(
            node, f"{name}() takes a list of arrays: {name}([a, b], axis=0)"
        )
    for k in node.keywords:
        if k.arg != "axis":
            raise scope.src.error(k, f"{name}() got an unexpected keyword '{k.arg}'")
    parts = [value(a, scope) for a in node.args[0].elts]
    if not parts:
        raise scope.src.error(node, f"{name}() needs at least one array")
    nd = len(scope.b.shape(parts[0])) + (name == "stack")
    ax_node = kwarg(node, "axis", 1, None)
    axis = (
        read_axis(ax_node, scope, nd, allow_none=False) if ax_node is not None else (0,)
    )
    if name == "concatenate" and nd == 0:
        raise scope.src.error(node, "concatenate() needs arrays, not scalars")
    return emit(scope, node, name, *parts, axis=axis[0])


def call_dot(node, scope, name):
    arity(node, scope, name, 2)
    a, b = value(node.args[0], scope), value(node.args[1], scope)
    if not scope.b.shape(a) or not scope.b.shape(b):
        return emit(scope, node, "mul", a, b)
    if len(scope.b.shape(a)) > 2 or len(scope.b.shape(b)) > 2:
        raise scope.src.error(
            node, "dot() of arrays with more than 2 dimensions: use @"
        )
    return emit(scope, node, "matmul", a, b)


BUILTIN_CALLS = {n: call_unary for n in UNARY_FUNCS}
BUILTIN_CALLS.update({n: call_reduction for n in REDUCTIONS})
BUILTIN_CALLS.update(
    {
        "maximum": call_binary,
        "minimum": call_binary,
        "outer": call_binary,
        "arctan2": call_binary,
        "var": call_moment,
        "std": call_moment,
        "einsum": call_einsum,
        "softmax": call_softmax,
        "log_softmax": call_softmax,
        "clip": call_clip,
        "where": call_where,
        "transpose": call_transpose,
        "reshape": call_reshape,
        "concatenate": call_sequence,
        "stack": call_sequence,
        "dot": call_dot,
    }
)


def inline_call(node: ast.Call, sig: Signature, scope: Scope) -> int:
    """Inline a user function defined above: bind its parameters and lower its body.

    A ``@fuse`` function must stay elementwise so that it broadcasts over tensors.
    """
    fn = sig.node
    src = scope.src
    if node.keywords or len(node.args) != len(fn.args.args):
        raise src.error(
            node,
            f"{fn.name}() takes {len(fn.args.args)} positional arguments, "
            f"got {len(node.args)}{' and keywords' if node.keywords else ''}",
        )
    if fn.name in scope.inlining:
        raise src.error(node, f"recursive call of '{fn.name}'")
    args = [value(a, scope) for a in node.args]
    above = {
        k: v
        for k, v in scope.funcs.items()
        if k != fn.name and v.node.lineno < fn.lineno
    }
    if sig.fuse and scope.fuse:
        fused = fuse_call(node, sig, args, above, scope)
        if fused is not None:
            return fused
    inner = Scope(
        src,
        scope.b,
        scope.constants,
        above,
        inlining=scope.inlining + (fn.name,),
        fuse=scope.fuse,
        call_loc=scope.b.loc,
    )
    pending: list = []
    scratch = Scope(src, scope.b, {}, {})
    if not sig.fuse:
        declare_dims(fn.args.args, src, scratch)
    for a, v, at in zip(fn.args.args, args, node.args):
        if not sig.fuse:
            pending += bind_dims(a, scope.b.shape(v), inner, at, fn.name, scratch)
        inner.env[a.arg] = v
    for check in pending:
        check_dim_expressions(*check, inner, fn.name)
    outer_loc = scope.b.loc
    first = len(scope.b.nodes)
    _, out = lower_body(fn, inner)
    if sig.fuse:
        for k in range(first, len(scope.b.nodes)):
            op = scope.b[k].op
            # broadcast_to: an inner @fuse call spreading its result over its arguments
            if op not in ("const", "dim", "broadcast_to") and not PRIMS[op].elementwise:
                raise src.error(
                    fn,
                    f"@fuse function '{fn.name}' uses '{op}', which is not elementwise",
                )
        out = broadcast_over(scope, node, out, args)
    scope.b.loc = outer_loc
    return out


def fuse_call(node: ast.Call, sig: Signature, args: list[int], above, scope: Scope):
    """A ``@fuse`` call as one fused node whose body is the function's (None if not smooth)."""
    fn = sig.node
    sub = Builder(rewrite=scope.b.rewrite)
    inner = Scope(
        scope.src,
        sub,
        scope.constants,
        above,
        inlining=scope.inlining + (fn.name,),
        fuse=True,
    )
    for k, a in enumerate(fn.args.args):
        inner.env[a.arg] = sub.emit("input_ref", k=k)
    _, out = lower_body(fn, inner)
    live = reachable(sub.nodes, [out])
    ops = {sub[i].op for i in live}
    if not ops <= set(FUSIBLE) | {"const", "input_ref"} or sub[out].op == "input_ref":
        return None
    if any(sub[i].op == "pow" and sub[sub[i].args[1]].op != "const" for i in live):
        return None  # x ** p at 0 follows the primitive table's convention, not SymPy's
    body, used = freeze_body(sub.nodes, out, compact=True)
    if not derivable(body, len(used), range(len(used))):
        return (
            None  # SymPy cannot say its gradient: inlined, differentiated node by node
        )
    result = emit(
        scope,
        node,
        "fused",
        *(args[k] for k in used),
        body=body,
        name=f"fused {fn.name}",
    )
    return broadcast_over(scope, node, result, args)


def broadcast_over(scope: Scope, at, result: int, args: list[int]) -> int:
    """A ``@fuse`` result spread over the broadcast shape of all its arguments."""
    try:
        shape = broadcast(*(scope.b.shape(a) for a in args), scope.b.shape(result))
    except ShapeError as exc:
        raise scope.src.error(at, str(exc)) from None
    if scope.b.shape(result) == shape:
        return result
    return emit(scope, at, "broadcast_to", result, shape=shape)


def bind_dims(
    a: ast.arg,
    actual: tuple,
    inner: Scope,
    at,
    fname: str,
    scratch: Scope | None = None,
) -> list:
    """Match parameter ``a``'s annotation against the argument's shape ``actual``.

    The callee's dimension names are bound to the caller's dimensions in ``inner.dims``.
    Returns the check of its dimension expressions (``4 * H``) to make once every
    parameter has bound its names (``check_dim_expressions``), or none.
    """
    src = inner.src
    scratch = scratch or Scope(src, inner.b, {}, {})
    shape, dtype, text = read_type(
        a.annotation, src, scratch, ("parameter " + a.arg, a)
    )
    ok = len(shape) == len(actual)
    exprs = False
    for want, got in zip(shape, actual) if ok else ():
        if isinstance(want, int):
            ok = ok and want == got
        elif want.is_Symbol:
            bound = inner.dims.setdefault(want.name, got)
            ok = ok and bound == got
        else:
            exprs = True
    if not ok:
        raise src.error(
            at,
            f"{fname}(): argument '{a.arg}' has shape "
            f"{format_shape(actual)}, expected {text}",
        )
    return [(a, shape, actual, at, text)] if exprs else []


def check_dim_expressions(
    a: ast.arg, shape: tuple, actual: tuple, at, text: str, inner: Scope, fname: str
) -> None:
    """The dimension expressions of parameter ``a`` (``4 * H``), with the sizes its names
    were bound to in ``inner.dims`` put in, must equal the argument's sizes ``actual``."""
    for want, got in zip(shape, actual):
        if isinstance(want, int) or want.is_Symbol:
            continue
        bound = {s: sympy.Integer(0) + inner.dims[s.name] for s in want.free_symbols}
        size = canon(want.xreplace(bound))
        if canon(sympy.Integer(0) + size - got) != 0:
            raise inner.src.error(
                at,
                f"{fname}(): argument '{a.arg}' has shape "
                f"{format_shape(actual)}, expected {text}",
            )


EXPRESSIONS = {
    ast.Name: name_expr,
    ast.Constant: constant_expr,
    ast.BinOp: binop_expr,
    ast.UnaryOp: unary_expr,
    ast.Attribute: attribute_expr,
    ast.Subscript: subscript_expr,
    ast.Call: call_expr,
    ast.Compare: compare_expr,
}
