"""What a loop body assigns and reads, on the syntax tree alone: the frontend's loop
lowering (``loops.py``) and the shape check before it (``statement_shapes.py``, which
imports no SymPy) read a body by these two rules, so they cannot disagree."""

from __future__ import annotations

import ast


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
