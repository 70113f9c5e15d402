"""Text helpers for mail: HTML to readable text, and the new part of a reply without the history
it quotes. Pure functions."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

# Our notifications start with this line; whatever a customer's client quotes under it is the
# conversation we sent, so a reply ends where the marker begins, in any language.
REPLY_MARKER = re.compile(r"^.*##-.*-##.*$", re.MULTILINE)
# "On <date>, <someone> wrote:" in Arabic (Gmail, Outlook), which the reply parser does not know.
ARABIC_WROTE = re.compile(r"^[^\n]{0,200}كتب[^\n]{0,120}[:：]\s*$", re.MULTILINE)
_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
     "table", "ul", "ol", "hr"}
)  # fmt: skip
_SKIPPED = frozenset({"script", "style", "head", "title"})
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(source: str) -> str:
    """Readable text of an HTML-only mail: paragraphs and line breaks kept, markup dropped."""
    if not source:
        return ""
    collector = _TextCollector()
    try:
        collector.feed(source)
        collector.close()
    except Exception:  # broken markup: fall back to the raw text without tags
        return html.unescape(re.sub(r"<[^>]*>", " ", source)).strip()
    text = "".join(collector.parts)
    lines = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", _TRAILING_SPACE.sub("\n", lines)).strip()


def strip_reply(text: str, parser: EmailReplyParser) -> str:
    """The new part of a reply: above our marker, above the quoted history. The whole text when
    stripping would leave nothing (a mail that is all quote is still shown)."""
    cut = text
    for pattern in (REPLY_MARKER, ARABIC_WROTE):
        found = pattern.search(cut)
        if found:
            cut = cut[: found.start()]
    try:
        reply = parser.parse_reply(cut) or ""
    except Exception:  # the parser's regexes on hostile input: keep what we have
        reply = cut
    reply = reply.strip()
    return reply or cut.strip() or text.strip()
