"""The numba target's whole-function kernels of ``f_forward`` and ``f_backward``
(``numba_whole`` has those of ``f_value_and_grad``, ``f_jvp`` and ``f_hvp``).

``_f_forward_kernel`` computes the forward statements and returns the value and the
cache, the same tuple the statements pack (so either backward reads it);
``_f_backward_kernel`` takes the seed and the cache's values and returns the gradients.
Both run after the checks where the inputs are small, by the same tests as
``f_value_and_grad``'s kernel. The backward reads the dimensions its tests and its body
need from the shapes of the cached arrays (``N = X.shape[0]``) where the cache does not
hold them; where no cached array has one, it keeps the statements.
"""

from __future__ import annotations

import re

from ..core import printer as P
from ..ops.spelling import as_float
from .layout import identifiers, tuple_lines
from .naming import Namer
from .numba_whole import add_kernel, guarded_call, skipped, whole_body


def forward_kernel(family, sched, today, cache_names: list[str]) -> list[str]:
    """The lines calling ``f_forward``'s whole kernel (or why there is none); ``today``:
    the blocks of its statements; ``cache_names``: the cache's variables as they pack it
    (values, then dimensions)."""
    fn = family.fn
    why = skipped(fn, sched.forward, today)
    if why is not None:
        return [why]
    namer, _, bound = family.graph_namer(fn)
    kname = f"_{family.name('forward')}_kernel"
    keep = {fn.output} | set(sched.cache)
    blocks, exprs, looped = whole_body(
        family,
        kname,
        fn,
        sched.forward,
        bound,
        keep,
        namer,
        sched.adjoints,
        set(sched.forward),
    )
    value = family.results([fn.output], [as_float(exprs[fn.output])], set(), fn)[0]
    cache = [exprs[i].text for i in sched.cache] + cache_names[len(sched.cache) :]
    used = identifiers(blocks, [value, *cache])
    params = family.params + [d for d in family.dims.values() if d in used]
    returns = tuple_lines(f"return {value}, (", cache, ",)" if len(cache) == 1 else ")")
    add_kernel(family, kname, params, blocks, returns)
    names = {p.node: family.pnames[p.name] for p in fn.params}
    return guarded_call(family, kname, fn, sched.forward, params, names, looped)


def backward_kernel(family, sched, today, seed: str, cache_names) -> list[str]:
    """The lines calling ``f_backward``'s whole kernel (or why there is none), after the
    cache is unpacked into ``cache_names`` and the seed checked."""
    fn = family.fn
    why = skipped(fn, sched.backward, today)
    if why is not None:
        return [why]
    kname = f"_{family.name('backward')}_kernel"
    reserved = family.graph_namer(fn)[0].reserved
    namer = Namer(reserved | set(cache_names) | {seed} | set(family.dims.values()))
    bound = {fn.seed: P.name(seed)}
    bound.update((i, P.name(c)) for i, c in zip(sched.cache, cache_names))
    blocks, exprs, looped = whole_body(
        family,
        kname,
        fn,
        sched.backward,
        bound,
        set(sched.grads),
        namer,
        sched.adjoints,
        frozenset(),
    )
    grads = [as_float(exprs[g]) for g in sched.grads]
    texts = family.results(sched.grads, grads, set(sched.cache), fn)
    used = identifiers(blocks, texts)
    dims = [d for d in family.dims.values() if d in used and d not in cache_names]
    params = [seed] + [c for c in cache_names if c in used] + dims
    names = dict(zip(sched.cache, cache_names))
    call = guarded_call(family, kname, fn, sched.backward, params, names, looped)
    lines = []
    for d, var in family.dims.items():
        read = re.search(rf"\b{var}\b", "\n".join(call))
        if var in cache_names or not read:
            continue
        at = shape_of(fn, sched.cache, cache_names, d)
        if at is None:
            for k in [k for k in family.ctx.kernels if k.startswith(kname)]:
                del family.ctx.kernels[k]  # its loops
            return [f"# numba: no whole-function kernel: no cached array has {var}"]
        lines.append(f"{var} = {at}")
    returns = [f"return {', '.join(texts)}"]
    add_kernel(family, kname, params, blocks, returns, str)
    return lines + call


def whole_split(family, sched, fblocks, bblocks, seed: str, cache_names):
    """The lines calling the whole kernels of ``f_forward`` and ``f_backward`` on the
    numba target (none on the others)."""
    if not family.target.kernels:
        return [], []
    forward = forward_kernel(family, sched, fblocks, cache_names)
    return forward, backward_kernel(family, sched, bblocks, seed, cache_names)


def shape_of(fn, cache: list[int], names: list[str], d) -> str | None:
    """``X.shape[0]``: the first cached array with the dimension ``d`` on an axis."""
    for i, name in zip(cache, names):
        for k, e in enumerate(fn.nodes[i].shape):
            if str(e) == str(d):
                return f"{name}.shape[{k}]"
    return None
