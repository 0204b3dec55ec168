"""Splitting stock and pricing writes into batches SparkLayer accepts, and reading which items of a
refused batch were at fault."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")

_INDEX = re.compile(r"^\[?(\d+)\]?")


def rounds(items: Sequence[T], key: Callable[[T], Hashable]) -> list[list[int]]:
    """Positions of `items` grouped so no key repeats within a group: the n-th occurrence of a key
    goes to group n. Groups are sent one after another, so the last occurrence wins, as it would
    had the items been sent one by one."""
    seen: dict[Hashable, int] = {}
    groups: list[list[int]] = []
    for position, item in enumerate(items):
        occurrence = seen.get(key(item), 0)
        seen[key(item)] = occurrence + 1
        if occurrence == len(groups):
            groups.append([])
        groups[occurrence].append(position)
    return groups


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [items[start : start + size] for start in range(0, len(items), size)]


def faulty_positions(problems: list[dict], batch_size: int) -> dict[int, list[str]]:
    """Positions (0-based) named by a refusal, with the messages about each.

    RFC 7807 items name a position in `property` (`[3].sku` or `3.sku`); the pricing API's items
    name a 1-based `line`. Positions outside the batch are ignored.
    """
    named: dict[int, list[str]] = {}
    for problem in problems:
        position: int | None = None
        if isinstance(problem.get("line"), int):
            position = problem["line"] - 1
        elif isinstance(problem.get("property"), str) and (match := _INDEX.match(problem["property"])):
            position = int(match.group(1))
        if position is not None and 0 <= position < batch_size:
            where = problem.get("field") or problem.get("property")
            text = str(problem.get("message", "refused"))
            named.setdefault(position, []).append(f"{where}: {text}" if where else text)
    return named
