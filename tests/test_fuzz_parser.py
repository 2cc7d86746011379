"""Parser fuzz: every input ends in success (a module's source) or a FormulaError.

Inputs: random byte strings (compiled with ``compile_file``), random token soups (alone
and inside a function body), and mutations of seed formulas (``examples/*.grad`` plus
built-in seeds): character and token deletions, insertions, swaps and duplications,
huge numbers, hostile names and truncations.

The loop runs in a child interpreter so that a hang is caught (per-input alarm of
``PER_INPUT_S`` and an overall timeout, both hang guards, not timing assertions); the
child records the input being compiled, so a hang names it. Any exception other than
``FormulaError`` is a failure, and so is a success whose output is not valid Python.

Quick profile (default run): 500 inputs. Long profile: 100,000 inputs,
``GRADC_LONG=1 pytest -m long tests/test_fuzz_parser.py``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LONG = os.environ.get("GRADC_LONG") == "1"
PER_INPUT_S = 20

SEEDS = [
    '''"""Logistic regression, as in the linear-classifier lecture."""

EPS = 1e-12                       # module-level numeric constants

@fuse                             # one node; local gradient derived by SymPy
def swish(x: Scalar) -> Scalar:
    return x * sigmoid(x)

@wrt(w, b)                        # gradients only for these inputs
def logistic_loss(w: Vector[d], b: Scalar, X: Matrix[n, d], y: Vector[n],
                  lam: Scalar) -> Scalar:
    """Mean binary cross-entropy with an L2 penalty."""
    p = sigmoid(X @ w + b)
    data = -mean(y * log(p + EPS) + (1 - y) * log(1 - p + EPS))
    return data + lam * sum(w ** 2)
''',
    '''"""Softmax cross-entropy."""


def softmax_loss(W: Matrix[d, c], X: Matrix[n, d], y: Index[n]) -> Scalar:
    scores = X @ W
    logp = log_softmax(scores, axis=1)
    return -mean(logp[arange(n), y])
''',
    """@wrt(W1, b1, W2)
def mlp(W1: Matrix[h, d], b1: Vector[h], W2: Vector[h], x: Vector[d], t: Scalar) -> Scalar:
    z = tanh(W1 @ x + b1)
    out = W2 @ z
    return 0.5 * (out - t) ** 2
""",
    """EPS = 1e-8
SCALE = -2.5


def misc(v: Vector[4], M: Matrix[4, 4], a: Scalar) -> Scalar:
    u = where(v > 0, log(v + EPS), 0.0)
    u += clip(v, -1.0, 1.0)
    w = maximum(v, a) - minimum(v, 0.5)
    s = concatenate([u[:2], w[2:]])
    q = stack([s, v])
    r = reshape(q, (2, 4)).T
    return sum(r) + norm(M @ v) + logsumexp(v) * SCALE + max(abs(v)) + np.sum(np.exp(-v ** 2))
""",
    """@fuse
def swish(x: Scalar) -> Scalar:
    return x * sigmoid(x)


def net(x: Vector[n], w: Vector[n]) -> Scalar:
    h = swish(x * w)
    h = softplus(h) + relu(h) + sqrt(1 + square(h)) + log1p(h ** 2) + expm1(-h ** 2)
    return mean(h) + dot(x, w) + sum(outer(x, w)) + tan(0.1 * sum(x)) + cos(pi * e)
""",
    """def attention(Q: Matrix[n, k], K: Matrix[n, k]) -> Matrix[n, n]:
    s = Q @ transpose(K) * 0.5
    s = s - max(s, axis=1, keepdims=True)
    return softmax(s, axis=-1)


def tensor(T3: Tensor[2, 3, 4], i: Index[2]) -> Scalar:
    a = mean(T3, axis=(1, 2))
    b = T3[:, None, 0, 1:3]
    return sum(a[i]) + sum(b) + min(T3) + numpy.sum(T3[1])
""",
]

TOKENS = (
    "def return lambda import from as if else for while in is not and or None True False "
    "class with yield global nonlocal del pass assert async await try except raise match case "
    "x y z v w M f g n d Scalar Vector Matrix Tensor Index fuse wrt np numpy exp log sqrt sum "
    "mean max min where clip softmax log_softmax arange reshape concatenate stack dot outer "
    "sigmoid softplus relu tanh norm logsumexp pi e T __class__ __import__ eval exec open os "
    "axis keepdims + - * / ** @ // % < <= > >= == != = += -= *= /= ( ) [ ] { } , : ; . ... "
    '@fuse @wrt -> 0 1 2 3 0.5 1e308 1e-308 1e400 10**100 9**9**9 0x10 1_000 1j \'a\' """doc""" '
    "b'x' f'{x}' # \\ \t \n \n\n \n    \n        \r \x00 \x0c \u2028 \uff58 \ufb01 \u0430"
).split(" ")
HOSTILE_NAMES = ["__class__", "__builtins__", "eval", "np", "cache", "d_x", "type", "float",
                 "\uff58", "\u0430", "_", "match", "None", "lambda"]  # fmt: skip
HUGE_NUMBERS = ["10**100", "9**9**9", "1" + "0" * 400, "1e999", "-1e308", "0.0", "1e-400",
                "2**1000000", "3.3" * 50, "0b1" + "0" * 300, "1_0_0", "00", "5.", ".5e-3"]  # fmt: skip
ODD_CHARS = ["\x00", "\r", "\n", "\t", "\x0c", "\x0b", "\u2028", "\ufeff", "\ud800", "\\",
             "'", '"', "#", "(", ")", "[", "]", ":", "@", "\uff58", "\u0301", "\U0001d431"]  # fmt: skip


def seed_texts() -> list[str]:
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "examples").glob("*.grad"))
    ]
    return texts + SEEDS


def _tokens(text: str) -> list[str]:
    out, cur, kind = [], "", None
    for ch in text:
        k = "w" if (ch.isalnum() or ch == "_") else ("s" if ch in " \t" else ch)
        if k == kind and k in ("w", "s"):
            cur += ch
        else:
            if cur:
                out.append(cur)
            cur, kind = ch, k
    if cur:
        out.append(cur)
    return out


def mutate(rng: random.Random, text: str) -> str:
    """One to four random edits at character or token level."""
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(12)
        n = len(text)
        i = rng.randrange(n + 1)
        if op == 0 and n:  # delete a character
            text = text[:i] + text[i + 1 :]
        elif op == 1:  # insert an odd or random character
            ch = (
                rng.choice(ODD_CHARS)
                if rng.random() < 0.5
                else chr(rng.randrange(32, 0x3000))
            )
            text = text[:i] + ch + text[i:]
        elif op == 2 and n > 1:  # swap two characters
            j = rng.randrange(n)
            i = min(i, n - 1)
            chars = list(text)
            chars[i], chars[j] = chars[j], chars[i]
            text = "".join(chars)
        elif op == 3 and n:  # duplicate a slice
            j = min(n, i + rng.randint(1, 40))
            text = text[:j] + text[i:j] + text[j:]
        elif op == 4:  # truncate
            text = text[:i]
        else:
            toks = _tokens(text)
            if not toks:
                text = rng.choice(TOKENS)
                continue
            k = rng.randrange(len(toks))
            if op == 5:  # delete a token
                del toks[k]
            elif op == 6:  # insert a token
                toks.insert(k, rng.choice(TOKENS))
            elif op == 7:  # swap two tokens
                m = rng.randrange(len(toks))
                toks[k], toks[m] = toks[m], toks[k]
            elif op == 8:  # duplicate a run of tokens
                m = min(len(toks), k + rng.randint(1, 8))
                toks[m:m] = toks[k:m]
            elif op == 9:  # replace a number
                nums = [j for j, t in enumerate(toks) if t[:1].isdigit()]
                j = rng.choice(nums) if nums else k
                toks[j] = rng.choice(HUGE_NUMBERS)
            elif op == 10:  # replace a name by a hostile one
                names = [
                    j for j, t in enumerate(toks) if t[:1].isalpha() or t[:1] == "_"
                ]
                j = rng.choice(names) if names else k
                toks[j] = rng.choice(HOSTILE_NAMES)
            else:  # replace a token by a random one
                toks[k] = rng.choice(TOKENS)
            text = "".join(toks)
    return text


def token_soup(rng: random.Random) -> str:
    soup = " ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 30)))
    if rng.random() < 0.5:
        head = "def f(x: Scalar, v: Vector[3], M: Matrix[3, 3]) -> Scalar:\n    "
        return head + ("return " if rng.random() < 0.7 else "") + soup + "\n"
    return soup


def random_bytes(rng: random.Random) -> bytes:
    n = rng.randint(0, 300)
    r = rng.random()
    if r < 0.4:
        return bytes(rng.randrange(256) for _ in range(n))
    if r < 0.7:  # mostly printable ASCII with a few high bytes
        return bytes(rng.randrange(32, 127) if rng.random() < 0.95 else rng.randrange(128, 256)
                     for _ in range(n))  # fmt: skip
    text = mutate(rng, rng.choice(seed_texts()))  # a formula in a random encoding
    enc = rng.choice(["utf-16", "utf-32", "latin-1", "cp1252", "utf-8-sig", "utf-7"])
    return text.encode(enc, errors="replace")


def inputs(profile: str, rng_seed: int, count: int):
    """``count`` inputs: (kind, text or bytes). The seeds themselves come first."""
    rng = random.Random(rng_seed)
    seeds = seed_texts()
    out = [("seed", s) for s in seeds]
    while len(out) < count:
        r = rng.random()
        if r < 0.2:
            out.append(("bytes", random_bytes(rng)))
        elif r < 0.5:
            out.append(("soup", token_soup(rng)))
        else:
            out.append(("mutant", mutate(rng, rng.choice(seeds))))
    return out[:count]


# ----------------------------------------------------------------------------- the child


class _Hang(BaseException):
    pass


def _on_alarm(signum, frame):
    raise _Hang()


def child(profile: str, rng_seed: int, count: int, workdir: str) -> None:
    """Run the fuzz loop; print a JSON summary (run by the tests below in a subprocess)."""
    import ast
    import signal
    import traceback

    sys.path.insert(0, str(ROOT))
    import cli

    cli.use_checkout()  # this checkout's gradc, not the installed one (as conftest.py)
    import gradc

    signal.signal(signal.SIGALRM, _on_alarm)
    work = Path(workdir)
    progress = work / "progress.txt"
    bad_file = work / "input.grad"
    counts = {"success": 0, "FormulaError": 0, "failure": 0}
    failures = []
    seed_failures = []
    for n, (kind, data) in enumerate(inputs(profile, rng_seed, count)):
        with open(progress, "w", encoding="utf-8") as fh:
            fh.write(f"{n} {kind} {data!r}"[:20000])
        signal.setitimer(signal.ITIMER_REAL, PER_INPUT_S)
        try:
            if kind == "bytes":
                bad_file.write_bytes(data)
                out = gradc.compile_file(bad_file)
            else:
                out = gradc.compile_source(data, filename="fuzz.grad")
            signal.setitimer(signal.ITIMER_REAL, 0)
            if not isinstance(out, str):
                raise TypeError(f"compile returned {type(out).__name__}, not str")
            ast.parse(out)  # a success must be valid Python
            counts["success"] += 1
        except gradc.FormulaError as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            ok = (
                isinstance(exc.line, int) and exc.line >= 1 and isinstance(exc.col, int)
            )
            ok = ok and exc.col >= 1
            if ok:
                counts["FormulaError"] += 1
            else:
                counts["failure"] += 1
                failures.append({"kind": kind, "input": repr(data)[:3000],
                                 "error": f"bad location line={exc.line!r} col={exc.col!r}"})  # fmt: skip
            if kind == "seed":
                seed_failures.append({"input": data[:300], "error": str(exc)[:500]})
        except BaseException as exc:  # noqa: BLE001 - anything else is what we look for
            signal.setitimer(signal.ITIMER_REAL, 0)
            counts["failure"] += 1
            what = (
                "hang (per-input alarm)" if isinstance(exc, _Hang) else repr(exc)[:500]
            )
            if len(failures) < 200:
                failures.append({"kind": kind, "input": repr(data)[:3000], "error": what,
                                 "traceback": traceback.format_exc()[-1500:]})  # fmt: skip
            if kind == "seed":
                seed_failures.append({"input": data[:300], "error": what})
    print(json.dumps({"counts": counts, "failures": failures, "seeds": seed_failures}))


def run_child(
    tmp_path: Path, profile: str, rng_seed: int, count: int, timeout: float
) -> dict:
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [sys.executable, str(Path(__file__).resolve()), profile, str(rng_seed), str(count),
           str(tmp_path)]  # fmt: skip
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        last = (tmp_path / "progress.txt").read_text(encoding="utf-8", errors="replace")
        pytest.fail(
            f"fuzz child hung (hard timeout {timeout}s) on input: {last[:3000]}"
        )
    if proc.returncode != 0:
        last = (tmp_path / "progress.txt").read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"fuzz child died (rc={proc.returncode}) on input {last[:3000]}\n"
                    f"{proc.stderr[-3000:]}")  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(result: dict) -> str:
    """Counts, then one example of each distinct failure (exception type and raising line)."""
    lines = [f"counts: {result['counts']}"]
    distinct = {}
    for f in result["failures"]:
        sites = [
            ln
            for ln in f.get("traceback", "").splitlines()
            if ln.strip().startswith("File")
        ]
        distinct.setdefault((f["error"].split("(")[0], sites[-1] if sites else ""), f)
    for f in list(distinct.values())[:10]:
        lines.append(f"- [{f['kind']}] {f['error']}\n  input: {f['input'][:600]}")
        if "traceback" in f:
            lines.append("  " + f["traceback"][-600:].replace("\n", "\n  "))
    return "\n".join(lines)


def test_fuzz_generators_are_deterministic():
    a = inputs("quick", 1234, 200)
    b = inputs("quick", 1234, 200)
    assert a == b
    assert {k for k, _ in a} == {"seed", "bytes", "soup", "mutant"}


def test_fuzz_quick(tmp_path):
    result = run_child(tmp_path, "quick", 20240611, 500, timeout=900)
    counts = result["counts"]
    assert sum(counts.values()) == 500
    assert result["seeds"] == [], f"a seed formula does not compile: {result['seeds']}"
    assert counts["failure"] == 0, _report(result)
    assert counts["success"] > 0 and counts["FormulaError"] > 0, counts


@pytest.mark.long
@pytest.mark.skipif(not LONG, reason="long profile: set GRADC_LONG=1 and use -m long")
@pytest.mark.parametrize("part", [0, 1])
def test_fuzz_long(tmp_path, part):
    """100,000 inputs in all (two parts of 50,000 with different seeds)."""
    result = run_child(tmp_path, "long", 777_000 + part, 50_000, timeout=6 * 3600)
    assert sum(result["counts"].values()) == 50_000
    assert result["counts"]["failure"] == 0, _report(result)


if __name__ == "__main__":
    # the checkout's gradc, as in the pytest process (conftest.py), not the installed one
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __import__("cli").use_checkout()
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
