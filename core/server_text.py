"""A server's error body as one short line: what a sentence may quote of someone else's text.

A reverse proxy, a captive portal or some other program on Ollama's port
answers with an HTML page (`<html><head><title>502 Bad Gateway</title>...`),
sometimes many kilobytes of it. A message quotes its title or first line of
text, without tags or entities and bounded in length; the whole body goes to
the log (core.error_log) for whoever needs it.
"""

from __future__ import annotations

import html
import re

LIMIT = 160

_DROPPED = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</?(p|div|h[1-6]|br|li|tr|pre|hr|center|body|html)\b[^>]*>", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:512].lower()
    return head.startswith(("<!doctype", "<html", "<?xml")) or "<body" in head or "<title" in head


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def short_text(body: str, limit: int = LIMIT) -> str:
    """The title or first line of text of `body`, tags and entities gone, at most `limit` characters."""
    text = body.strip()
    if looks_like_html(text) or _TAG.search(text[:512]):
        title = _TITLE.search(text)
        if title and title.group(1).strip():
            return _one_line(html.unescape(_TAG.sub("", title.group(1))), limit)
        text = _BLOCK_END.sub("\n", _DROPPED.sub("", text))
        text = html.unescape(_TAG.sub("", text))
    for line in text.splitlines():
        if line.strip():
            return _one_line(line, limit)
    return ""
