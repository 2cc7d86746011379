"""Local rewrites applied by the Builder as each node is made: the rule engine
(``engine``) and the rule sets by phase and kind. Import ``RULES`` and ``make_rewriter``
from here.
"""

from . import (
    accumulation,
    algebra,
    conditions,
    contraction,
    diagonal,
    linear_sums,
    reassociation,
    recognition,
    scaled_sums,
    shape_ops,
)
from .engine import RULES, install, make_rewriter

# For one op the first rule that applies wins: the rule sets register in this order.
install(
    algebra.RULE_SET,  # simplify: arithmetic identities
    shape_ops.RULE_SET,  # simplify: broadcasts, reshapes, transposes
    conditions.RULE_SET,  # simplify: where with a known condition
    contraction.RULE_SET,  # late: vdot contractions
    linear_sums.RULE_SET,  # numpy: sums moved inside linear maps, guarded
    scaled_sums.RULE_SET,  # numpy: a whole sum scaled once, guarded by the sum
    diagonal.RULE_SET,  # numpy: a diagonal scaling folded into matrix products
    accumulation.RULE_SET,  # late: dense part of an adjoint sum first
    reassociation.RULE_SET,  # late: a small factor meets a constant first
    recognition.RULE_SET,  # fuse: stable primitives from what people write
)

__all__ = ["RULES", "make_rewriter"]
