"""``gradc check``, ``gradc graph`` and ``gradc explain`` (seeing backprop).

Every command runs through the CLI (``sys.executable cli.py ...`` from the repository
root); the cases that need to corrupt a compiled module call ``cli.main`` in process.
Numbers are checked against the lecture's closed forms (cs231n.github.io/optimization-2)
or against NumPy computations written here, never against gradc itself.
"""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cli
import gradc
from gradc.cli import check, kinks, points
from gradc.cli.trace import trace_at

ROOT = Path(__file__).resolve().parents[1]
LECTURE = "examples/lecture.grad"
EXAMPLES = sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").glob("*.grad")
)
LECTURE_AT = "x=-2,y=5,z=-4"
NEURON_AT = "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's `dot` is not installed (apt-get install graphviz); "
    "this test is skipped only outside CI (CI unset) - in CI it runs and fails",
)

MIX = '''\
"""Shapes of backprop the tools must handle."""


def fanout(x: Scalar, y: Scalar) -> Scalar:
    a = x * y
    b = x + a
    return a * b


def vec_out(W: Matrix[m, n], x: Vector[n]) -> Vector[m]:
    return tanh(W @ x)


def domain(x: Vector[n], y: Vector[n]) -> Scalar:
    return sum(log(x) + sqrt(y) + x ** 0.5)


def kinks(x: Vector[n], t: Scalar) -> Scalar:
    return sum(relu(x) + abs(x) + maximum(x, t) + clip(x, -0.5, 0.5)) + max(x)


def guarded(x: Vector[n]) -> Scalar:
    return sum(where(x > 0, log(x), 0))


def pick(v: Vector[n], k: Index, rows: Index[m]) -> Scalar:
    return v[k] * 2 + sum(v[rows] ** 2)
'''


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    return subprocess.run(
        [sys.executable, "cli.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=full_env,
        timeout=120,
        check=False,
    )


def squash(text: str) -> str:
    """Runs of spaces as one (explain aligns its columns)."""
    return re.sub(r"[ \t]+", " ", text)


def gradient_lines(text: str) -> dict[str, float]:
    """The final ``∂f/∂x = value`` lines of ``explain``, as ``{"x": value}``."""
    tail = text.split("Gradients of", 1)[1]
    out = {}
    for m in re.finditer(r"^  ∂\w+/∂(\w+) = (?:.* = )?(-?[\d.e+-]+)", tail, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


@pytest.fixture()
def mix(tmp_path) -> Path:
    path = tmp_path / "mix.grad"
    path.write_text(MIX)
    return path


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------------------- explain


def test_explain_mul_add_prints_the_lectures_numbers():
    done = run("explain", LECTURE, "--function", "mul_add", "--at", LECTURE_AT)
    assert done.returncode == 0, done.stderr
    text = squash(done.stdout)
    # forward: q = 3, f = -12
    assert "q = x + y = 3 " in text
    assert "f = q * z = -12 " in text
    # backward: df/dz = q = 3, df/dq = z = -4, and the add gate routes -4 to x and y
    assert "local ∂f/∂z = q = 3" in text
    assert "downstream ∂f/∂z = local × upstream = 3 × 1 = 3" in text
    assert "local ∂f/∂q = z = -4" in text
    assert "upstream ∂f/∂q = -4" in text
    assert "local ∂q/∂x = 1" in text
    assert "downstream ∂f/∂x = local × upstream = 1 × (-4) = -4" in text
    assert "downstream ∂f/∂y = local × upstream = 1 × (-4) = -4" in text
    assert gradient_lines(done.stdout) == {"x": -4.0, "y": -4.0, "z": 3.0}
    # the backward pass walks from the output to the inputs: f's step comes before q's
    assert text.index("f = q * z [mul") < text.index("q = x + y [add")


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "gate-by-gate"])
def test_explain_neuron_matches_the_lecture(fuse):
    args = ["explain", LECTURE, "--function", "neuron", "--at", NEURON_AT]
    done = run(*args, *([] if fuse else ["--no-fuse"]))
    assert done.returncode == 0, done.stderr
    # Lecture: s = w0 x0 + w1 x1 + w2 = 1, f = sigmoid(1) = 0.73, ds = f (1 - f) = 0.20
    f = sigmoid(1.0)
    ds = f * (1 - f)
    expected = {"w0": -1 * ds, "x0": 2 * ds, "w1": -2 * ds, "x1": -3 * ds, "w2": ds}
    got = gradient_lines(done.stdout)
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name  # printed to 6 digits
    text = squash(done.stdout)
    assert "= 0.731059 " in text  # the output value, sigmoid(1)
    if fuse:  # the sigmoid gate: local gradient f (1 - f)
        assert "local ∂f/∂s = f * (1.0 - f) = 0.196612" in text
    else:  # the lecture's gates, one step each: 1/x, +1, exp, *-1 (the numbers of its slide)
        assert "= np.exp(" in text
        assert "local ∂f/∂%12 = -(f / %12) = -0.534447" in text
        assert (
            "downstream ∂f/∂%11 = local × upstream = 1 × (-0.534447) = -0.534447"
            in text
        )
        assert (
            "downstream ∂f/∂%10 = local × upstream = 0.367879 × (-0.534447) = -0.196612"
            in text
        )
        assert "to s: local ∂%10/∂s = -1" in text
        assert (
            "downstream ∂f/∂s = local × upstream = (-1) × (-0.196612) = 0.196612"
            in text
        )


def test_explain_shows_fan_out_sums(mix):
    done = run("explain", str(mix), "--function", "fanout", "--at", "x=2,y=3")
    assert done.returncode == 0, done.stderr
    text = squash(done.stdout)
    # out = a b with a = x y, b = x + a: a is used twice, x three times.
    # d out/d a = b + a * 1 = 8 + 6 = 14; d out/d x = a (via b) + y * 14 (via a) = 6 + 42
    assert "upstream ∂out/∂a = 8 (via out) + 6 (via b) = 14 (fan-out" in text
    assert "∂out/∂x = 6 (via b) + 42 (via a) = 48 (fan-out" in text
    x, y = 2.0, 3.0
    assert gradient_lines(done.stdout) == {
        "x": y * (x + x * y) + x * y * (1 + y),
        "y": x * (x + x * y) + x * y * x,
    }


def test_explain_tensors_index_and_ascii_terminal(mix):
    done = run(
        "explain",
        str(mix),
        "--function",
        "pick",
        "--at",
        "v=[1,2,3],k=1,rows=[0,0]",
        env={"PYTHONIOENCODING": "ascii"},
    )
    assert done.returncode == 0, done.stderr
    text = squash(done.stdout)
    # out = 2 v[k] + sum(v[rows]^2): d/dv = 2 e_k + 2 v[0] (twice, rows repeat 0)
    assert (
        "dout/dv = [4, 0, 0] (via %5) + [0, 2, 0] (via %3) = [4, 2, 0] (fan-out" in text
    )
    assert "k: not differentiated (integer input)" in text
    assert "∂" not in done.stdout  # an ASCII terminal gets ASCII notation


def test_explain_names_a_mask_a_condition(tmp_path):
    """A ``where``'s mask gets no gradient because it is a condition, not an integer
    input (it said "integer input" for ``p < 1e-12``)."""
    path = tmp_path / "clipped.grad"
    path.write_text(
        "def f(p: Vector[n], y: Vector[n]) -> Scalar:\n"
        "    return -mean(y * log(np.clip(p, 1e-12, None)))\n"
    )
    done = run("explain", path, "--at", "p=[0.5,0.0],y=[1,2]")
    assert done.returncode == 0, done.stderr
    text = squash(done.stdout)
    assert "%3 = p < 1e-12 = [False, True]" in text, text
    assert "to %3: no gradient (a condition)" in text, text
    assert "integer input" not in text


def test_explain_without_at_draws_and_prints_the_seed():
    done = run(
        "explain", LECTURE, "--function", "sq_norm", "--seed", "7", "--dims", "n=2"
    )
    assert done.returncode == 0, done.stderr
    assert "drawn at random with --seed 7: W, x (dims n=2)" in done.stdout
    # the drawn point is the one the note names: rerunning in process gives the same text
    again = explain_in_process(
        ["explain", LECTURE, "--function", "sq_norm", "--seed", "7", "--dims", "n=2"]
    )
    assert again == done.stdout


def explain_in_process(argv: list[str]) -> str:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(argv) == 0
    return buf.getvalue()


# ---------------------------------------------------------------------------- graph


def dot_edges(dot: str) -> dict[tuple[str, str], str]:
    """``{(src, dst): label text}`` with the HTML markup removed."""
    out = {}
    for m in re.finditer(r"^\s*(\w+) -> (\w+) \[label=<(.*)>", dot, re.M):
        out[(m.group(1), m.group(2))] = re.sub(r"<[^>]+>", " ", m.group(3)).split()
    return out


def test_graph_dot_of_mul_add(tmp_path):
    out = tmp_path / "mul_add.dot"
    done = run(
        "graph", LECTURE, "--function", "mul_add", "--at", LECTURE_AT, "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    dot = out.read_text(encoding="utf-8")
    assert dot.startswith("# Code generated by gradc ")
    edges = dot_edges(dot)
    # value above, gradient below, on every wire (lecture figure)
    assert edges[("n0", "n3")] == ["-2", "-4"]  # x
    assert edges[("n1", "n3")] == ["5", "-4"]  # y
    assert edges[("n2", "n4")] == ["-4", "3"]  # z
    assert edges[("n3", "n4")] == ["3", "-4"]  # q
    assert edges[("n4", "out")] == ["-12", "1"]  # f, seeded with 1
    assert '<font color="#1a7f37">-2</font><br/><font color="#cf222e">-4</font>' in dot
    # deterministic: the same command writes the same bytes
    assert (
        cli.main(
            [
                "graph",
                LECTURE,
                "--function",
                "mul_add",
                "--at",
                LECTURE_AT,
                "-o",
                str(tmp_path / "again.dot"),
            ]
        )
        == 0
    )
    assert (tmp_path / "again.dot").read_text(encoding="utf-8") == dot


@needs_dot
def test_graph_renders_png_and_svg(tmp_path):
    png, svg = tmp_path / "neuron.png", tmp_path / "mul_add.svg"
    done = run(
        "graph",
        LECTURE,
        "--function",
        "neuron",
        "--at",
        NEURON_AT,
        "--no-fuse",
        "-o",
        str(png),
    )
    assert done.returncode == 0, done.stderr
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Code generated by gradc" in data[:4096]  # so that -o may overwrite it
    done = run(
        "graph", LECTURE, "--function", "mul_add", "--at", LECTURE_AT, "-o", str(svg)
    )
    assert done.returncode == 0, done.stderr
    text = html.unescape(svg.read_text(encoding="utf-8"))
    assert "<svg" in text and "Code generated by gradc" in text
    for number in ("-12", "3", "-4"):
        assert f">{number}</text>" in text
    # overwriting gradc's own output is allowed
    for out in (svg, png):
        assert (
            cli.main(["graph", LECTURE, "--function", "mul_add", "-o", str(out)]) == 0
        )


def test_graph_needs_dot_for_images(tmp_path):
    out = tmp_path / "g.png"
    done = run(
        "graph",
        LECTURE,
        "--function",
        "mul_add",
        "-o",
        str(out),
        env={"PATH": str(tmp_path)},
    )  # no dot on this PATH
    assert done.returncode == 2
    assert "apt-get install graphviz" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_graph_refuses_to_overwrite_foreign_files(tmp_path):
    out = tmp_path / "notes.dot"
    out.write_text("my notes\n")
    args = [
        "graph",
        LECTURE,
        "--function",
        "mul_add",
        "--at",
        LECTURE_AT,
        "-o",
        str(out),
    ]
    assert cli.main(args) == 2
    assert out.read_text() == "my notes\n"
    assert cli.main(args + ["--force"]) == 0
    assert out.read_text().startswith("# Code generated by gradc")


def test_graph_adjoint_and_tensors(tmp_path):
    W = [[1.0, 2.0], [-0.5, 3.0]]
    x = [0.25, -1.0]
    done = run(
        "graph",
        LECTURE,
        "--function",
        "sq_norm",
        "--adjoint",
        "--at",
        f"W={W},x={x}".replace(" ", ""),
    )
    assert done.returncode == 0, done.stderr
    dot = done.stdout
    assert "cluster_forward" in dot and "cluster_backward" in dot
    assert ">d_q<" in dot and ">d_W<" in dot  # the adjoint nodes, named as in the code
    assert "∂f/∂W" in dot and "∂f/∂x" in dot
    Wa, xa = np.array(W), np.array(x)
    q = Wa @ xa
    dq = 2 * q
    # tensors show their shape and norm: q = W x and the gradients 2 q x^T and W^T 2 q
    assert f"(2,) ‖·‖ = {np.linalg.norm(q):.3g}" in dot
    assert f"‖∇‖ = {np.linalg.norm(np.outer(dq, xa)):.3g}" in dot
    assert f"‖∇‖ = {np.linalg.norm(Wa.T @ dq):.3g}" in dot
    assert f">{float(q @ q):.3g}<" in dot  # the scalar value f = |W x|^2 as a number


@needs_dot
def test_graph_dot_renders_with_graphviz(tmp_path):
    done = run("graph", LECTURE, "--function", "sq_norm", "--adjoint")
    assert done.returncode == 0, done.stderr
    rendered = subprocess.run(
        ["dot", "-Tsvg"], input=done.stdout.encode(), capture_output=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr.decode()


def deep_formula(layers: int) -> str:
    """A chain of ``layers`` formula lines (three operations each)."""
    lines = [
        "def deep(x: Vector[n], w: Scalar) -> Scalar:",
        "    h0 = tanh(x * w + 1)",
    ]
    lines += [f"    h{k} = tanh(h{k - 1} * w + {k})" for k in range(1, layers)]
    lines.append(f"    return sum(h{layers - 1} ** 2)")
    return "\n".join(lines) + "\n"


def dot_clusters(dot: str) -> dict[str, tuple[str, list[str]]]:
    """``{cluster id: (label, node ids)}`` of the DOT text."""
    out = {}
    pattern = r'subgraph "cluster_(\w+)" \{\n\s*label=<(.*?)>;(.*?)\n  \}'
    for m in re.finditer(pattern, dot, re.S):
        nodes = re.findall(r"^\s*(n\d+) \[", m.group(3), re.M)
        out[m.group(1)] = (html.unescape(m.group(2)), nodes)
    return out


def test_graph_of_a_large_formula_has_a_box_per_line(tmp_path):
    path = tmp_path / "deep.grad"
    path.write_text(deep_formula(12))  # gate by gate (--no-fuse): 49 operations
    done = run("graph", str(path), "--at", "x=[0.1,-0.2],w=0.5", "--no-fuse")
    assert done.returncode == 0, done.stderr
    dot = done.stdout
    assert "rankdir=TB" in dot  # top to bottom
    clusters = dot_clusters(dot)
    # one cluster per formula line, in line order, labelled with the line
    assert list(clusters) == [f"line_{k}" for k in range(2, 15)]
    assert clusters["line_2"][0] == "line 2: h0 = tanh(x * w + 1)"
    assert clusters["line_5"][0] == "line 5: h3 = tanh(h2 * w + 3)"
    assert clusters["line_14"][0] == "line 14: return sum(h11 ** 2)"
    # every operation is in the box of its line: mul, add, tanh on each layer's line
    ops = re.findall(r"^\s*(n\d+) \[shape=(?:circle|ellipse)", dot, re.M)
    boxed = [n for _, nodes in clusters.values() for n in nodes]
    assert set(ops) <= set(boxed)
    assert len(clusters["line_5"][1]) == 4  # *, the constant 3, +, tanh
    # deterministic, and the wires still carry values and gradients
    assert (
        run("graph", str(path), "--at", "x=[0.1,-0.2],w=0.5", "--no-fuse").stdout == dot
    )
    assert all(
        len(label) == 2 for (src, dst), label in dot_edges(dot).items() if dst == "out"
    )
    # with the adjoint graph: the line boxes, then the backward box
    adjoint = run(
        "graph", str(path), "--at", "x=[0.1,-0.2],w=0.5", "--adjoint", "--no-fuse"
    )
    assert adjoint.returncode == 0, adjoint.stderr
    names = list(dot_clusters(adjoint.stdout))
    assert names[:-1] == list(clusters) and names[-1] == "backward"
    if shutil.which("dot"):
        rendered = subprocess.run(
            ["dot", "-Tsvg"], input=adjoint.stdout.encode(), capture_output=True
        )
        assert rendered.returncode == 0, rendered.stderr.decode()


def test_graph_of_a_small_formula_stays_left_to_right():
    done = run("graph", LECTURE, "--function", "mul_add", "--at", LECTURE_AT)
    assert done.returncode == 0, done.stderr
    assert "rankdir=LR" in done.stdout and "cluster_" not in done.stdout


# ---------------------------------------------------------------------------- check


def test_check_cli_passes_on_the_lecture():
    done = run("check", LECTURE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISMATCH" not in done.stdout
    for name in ("mul_add", "neuron", "sq_norm"):
        assert re.search(rf"^{name}\b", done.stdout, re.M), name
    # a row per input and path, with the errors
    assert re.search(
        r"^  z\s+\(\)\s+backward\s+\S+\s+\d\.\d\de[-+]\d+\s+\S+\s+ok$",
        done.stdout,
        re.M,
    )
    assert "ok: 20 gradients of 3 function(s) match finite differences" in done.stdout


@pytest.mark.parametrize("example", EXAMPLES)
def test_check_passes_on_every_example(example, capsys):
    # in process (cli.main) to keep the run short; the CLI itself is covered just above
    for argv in (["check", example], ["check", example, "--no-fuse", "--seed", "5"]):
        status = cli.main(argv)
        out = capsys.readouterr().out
        assert status == 0, out
        assert "MISMATCH" not in out and "match finite differences" in out


def test_check_formula_with_domains_kinks_and_indices(mix):
    done = run("check", str(mix), "--seed", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("fanout", "vec_out", "domain", "kinks", "guarded", "pick"):
        assert re.search(rf"^{name}\b", done.stdout, re.M), name
    assert "note:" not in done.stdout  # every draw avoided kinks and domain boundaries


def test_check_help_states_the_tolerances():
    done = run("check", "--help")
    assert done.returncode == 0
    text = done.stdout
    assert "central differences in float64" in text
    assert f"{check.FD_STEP:g}" in text and f"{check.FD_RTOL:g}" in text
    assert f"{check.FD_ATOL:g}" in text


def corrupt(module, name: str, factor: float, *, which: str):
    """Scale the last gradient of ``name``'s backward (or value_and_grad) by ``factor``."""
    if which == "backward":
        original = getattr(module, name + "_backward")

        def bad(d_out, cache):
            grads = original(d_out, cache)
            return grads[:-1] + (grads[-1] * factor,)

        setattr(module, name + "_backward", bad)
    else:
        original = getattr(module, name + "_value_and_grad")

        def bad(*args):
            value, grads = original(*args)
            return value, grads[:-1] + (grads[-1] * factor,)

        setattr(module, name + "_value_and_grad", bad)


@pytest.mark.parametrize("which", ["backward", "value_and_grad"])
def test_check_fails_on_a_corrupted_module(which, capsys):
    text = (ROOT / LECTURE).read_text()
    module = gradc.load_source(text, filename=LECTURE)
    functions = gradc.lower_source(text, filename=LECTURE, adjoint=False)
    # a relative error of 1e-4 in one gradient is far above the tolerance (1e-6)
    corrupt(module, "mul_add", 1 + 1e-4, which=which)
    assert check.check_module(module, functions, seed=0) == 1
    out = capsys.readouterr().out
    assert f"MISMATCH: gradient of z ({which}) differs" in out
    assert "gradient of x" not in out.split("MISMATCH", 1)[1]
    # the uncorrupted module passes the same check
    module = gradc.load_source(text, filename=LECTURE)
    assert check.check_module(module, functions, seed=0) == 0


def test_check_cli_exits_1_on_a_corrupted_backward(monkeypatch, capsys):
    real = check.load_module

    def load_corrupted(text, filename, fuse):
        module = real(text, filename, fuse)
        corrupt(module, "neuron", -1.0, which="backward")
        return module

    monkeypatch.setattr(check, "load_module", load_corrupted)
    assert cli.main(["check", LECTURE]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH: gradient of w2 (backward)" in out
    assert "FAILED" in out


def test_check_reports_a_module_that_raises(capsys):
    text = (ROOT / LECTURE).read_text()
    module = gradc.load_source(text, filename=LECTURE)
    functions = gradc.lower_source(text, filename=LECTURE, adjoint=False)

    def broken(d_out, cache):
        raise RuntimeError("boom")

    module.sq_norm_backward = broken
    assert check.check_module(module, functions) == 1
    assert "backward raised RuntimeError: boom" in capsys.readouterr().out


def test_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.grad"
    bad.write_text("def f(x: Scalar) -> Scalar:\n    return foo(x)\n")
    done = run("check", str(bad))
    assert done.returncode == 2
    assert f"{bad}:2:" in done.stderr and "error:" in done.stderr
    assert "Traceback" not in done.stderr
    cases = [
        (["check", LECTURE, "--function", "nope"], "has no function 'nope'"),
        (
            ["check", LECTURE, "--dims", "zz=3"],
            "no function checked has a dimension zz",
        ),
        (["check", LECTURE, "--dims", "n=0"], "not a positive integer"),
        (["explain", LECTURE], "choose one with --function"),
        (
            ["explain", LECTURE, "--function", "mul_add", "--at", "w=1"],
            "has no parameter w",
        ),
        (
            ["explain", LECTURE, "--function", "mul_add", "--at", "x"],
            "expected NAME=VALUE",
        ),
        (
            ["graph", LECTURE, "--function", "sq_norm", "--at", "x=[1,2],W=[[1,2,3]]"],
            "--at: W",
        ),
        (
            ["graph", LECTURE, "--function", "mul_add", "-o", str(tmp_path / "g.pdf")],
            "unknown output format",
        ),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)


# ---------------------------------------------------------------------------- internals


def test_drawn_points_suit_the_formula(mix):
    functions = {f.name: f for f in gradc.lower_source(mix.read_text(), adjoint=False)}
    for seed in range(5):
        fn = functions["domain"]
        point = points.draw_point(fn, points.rng_for(seed, fn))
        assert np.all(point.inputs["x"] > 0) and np.all(point.inputs["y"] > 0)
        fn = functions["pick"]
        point = points.draw_point(fn, points.rng_for(seed, fn), dims={"n": 4, "m": 6})
        rows, k = point.inputs["rows"], point.inputs["k"]
        assert isinstance(k, int) and 0 <= k < 4
        assert (
            rows.shape == (6,)
            and rows.dtype.kind == "i"
            and np.all((0 <= rows) & (rows < 4))
        )
        fn = functions["kinks"]
        point = points.draw_point(fn, points.rng_for(seed, fn))
        x, t = point.inputs["x"], point.inputs["t"]
        for kink in (0.0, t, -0.5, 0.5):
            assert np.all(np.abs(x - kink) > kinks.KINK_MARGIN)


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "unfused"])
def test_the_walk_agrees_with_the_compiled_module(fuse):
    """explain/graph's numbers are the compiled module's numbers, on every example."""
    for example in EXAMPLES:
        text = (ROOT / example).read_text()
        module = gradc.load_source(text, filename=example, fuse=fuse)
        for fn in gradc.lower_source(text, filename=example, fuse=fuse):
            point = points.draw_point(fn, points.rng_for(1, fn))
            trace = trace_at(fn, point)
            args = point.args(fn)
            value, cache = getattr(module, fn.name + "_forward")(*args)
            np.testing.assert_allclose(trace.ev.values[fn.output], value, rtol=1e-12)
            grads = getattr(module, fn.name + "_backward")(trace.seed_value, cache)
            if len(fn.wrt) == 1:
                grads = (grads,)
            for p, g in zip(fn.wrt, grads):
                scale = max(1.0, float(np.max(np.abs(g))))
                np.testing.assert_allclose(
                    trace.grads[p.name],
                    g,
                    rtol=1e-10,
                    atol=1e-12 * scale,
                    err_msg=f"{fn.name} {p.name}",
                )
