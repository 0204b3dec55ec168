"""The merchant-facing pages' one layout: plain HTML that works without JavaScript, never cached, never
leaking its URL (which carries a one-time or secret link) to another site."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{head}
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin-top:1rem}}input{{width:100%;padding:.4rem}}button{{margin-top:1.5rem;padding:.5rem 1rem}}
.error{{color:#a00}}.steps li{{margin:.4rem 0}}.done{{color:#080}}</style></head>
<body><h1>{title}</h1>{content}</body></html>"""


def page(title: str, content: str, status: int = 200, *, refresh_seconds: int | None = None) -> HTMLResponse:
    """`content` is HTML the caller escaped; `refresh_seconds` reloads the page while something is under way."""
    head = f'\n<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return HTMLResponse(_PAGE.format(title=html.escape(title), head=head, content=content), status_code=status,
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def message_page(title: str, message: str, status: int) -> HTMLResponse:
    return page(title, f"<p>{html.escape(message)}</p>", status)


def sentence(message: str) -> str:
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")
