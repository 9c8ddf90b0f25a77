"""JSON and text every database can store.

Python's ``json`` reads ``NaN``, ``Infinity`` and lone surrogates (``"\\ud800"``), and
recurses until the interpreter gives up; PostgreSQL's ``jsonb`` and ``text`` refuse NUL,
non-finite numbers and text that is not UTF-8. So what comes from outside (request bodies,
``jsonl`` lines, form fields, file names, query parameters) is checked here first, and a
refusal names the place (``users[0].name: contains a NUL character``).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32  # an import.addUsers body needs 4 levels; customFields get the rest


class UnsafeJSON(ValueError):
    """Not JSON importops accepts; the message names the place and the problem."""


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def _refuse_constant(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeJSON(f"the number {text[:40]} is out of range")
    return value


def loads(raw: str | bytes) -> Any:
    """``json.loads`` that refuses what ``check`` refuses; UnsafeJSON says why."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise UnsafeJSON(f"nested more than {MAX_DEPTH} levels deep") from None
    except UnsafeJSON:
        raise
    except (ValueError, UnicodeDecodeError) as exc:  # includes int() beyond the digit limit
        raise UnsafeJSON(str(exc)) from exc
    check(value)
    return value


def check(value: Any, path: str = "") -> None:
    """Refuse NUL and lone surrogates in any string or key, non-finite or huge numbers,
    and nesting deeper than MAX_DEPTH. Iterative, so any depth is judged without recursion."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise UnsafeJSON(f"{where or 'body'}: {problem}")
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise UnsafeJSON(f"{where or 'body'}: the number is out of range")
        elif isinstance(item, int):
            if abs(item) >= 2**63:  # what a 64-bit column or PostgreSQL's numeric casts hold
                raise UnsafeJSON(f"{where or 'body'}: the number is out of range")
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise UnsafeJSON(f"{where or 'body'}: nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = text_problem(str(key))
                    if problem:
                        raise UnsafeJSON(f"{where or 'body'}: a key {problem}")
                    stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                stack.extend((child, f"{where or 'body'}[{index}]", depth + 1) for index, child in enumerate(item))
