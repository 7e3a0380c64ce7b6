"""Student text in Markdown reports (summary.md): escaped so it reads as text.

Error messages quote what a notebook printed or raised, and submission names come from
exports, so they can hold Markdown (links, images, emphasis), raw HTML (Markdown renders it)
or a ``|`` and a newline that break a table row. Each value is put on one line, HTML
special characters become entities, and Markdown's inline punctuation is backslash-escaped.
"""

from __future__ import annotations

import html
import re

# Inline markup only: values never start a line (they follow "| " or a label), so the
# block-level markers (#, -, +, 1.) cannot act.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")


def markdown_text(value: object) -> str:
    """``value`` as inline Markdown text that renders literally, on one line."""
    text = " ".join(str(value).split())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))
