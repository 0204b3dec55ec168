"""Reading a nested connection to its end, the same way for every GraphQL platform: a page of a product's
variants (or a variant's stock levels) that says there is more is followed by its cursor until it says no."""

from __future__ import annotations

from collections.abc import Callable

from ignite_etl.platforms.base import PlatformError, PlatformUnavailable


def read_rest(connection: dict, fetch: Callable[[str], dict | None], what: str, platform: str) -> None:
    """Append the pages of `connection` after its first, in place, until `hasNextPage` is false. `fetch(after)`
    is the page after a cursor, None when the node that holds the connection is gone."""
    info = connection.get("pageInfo") or {}
    while info.get("hasNextPage"):
        after = info.get("endCursor")
        if not after:
            raise PlatformError(f"{platform} said {what} has more pages but gave no cursor to read them")
        page = fetch(after)
        if page is None:
            raise PlatformUnavailable(f"{what} changed while it was being read; it is read again on the next try")
        connection["nodes"] = (connection.get("nodes") or []) + (page.get("nodes") or [])
        info = page.get("pageInfo") or {}
        connection["pageInfo"] = info
