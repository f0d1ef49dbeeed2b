"""Articles are Markdown: split into passages (one per section, long sections at paragraphs), turned
into plain text for replies, and rendered to safe HTML for the help center.

markdown-it-py with raw HTML off escapes any HTML in an article and refuses javascript:/data: links,
so the rendered article needs no second sanitiser.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt

MAX_PASSAGE_CHARS = 700


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@dataclass
class Passage:
    position: int
    heading: str
    text: str  # plain text: Markdown stripped, list items as "- ..."


def _inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts).strip()


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """(heading, block text) in order: a paragraph, a list (one line per item) or a code block."""
    heading = ""
    blocks: list[tuple[str, str]] = []
    tokens = _markdown().parse(markdown or "")
    in_heading = False
    list_depth = 0
    list_lines: list[str] = []
    for token in tokens:
        if token.type == "heading_open":
            in_heading = True
        elif token.type == "heading_close":
            in_heading = False
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            if list_depth == 0 and list_lines:
                blocks.append((heading, "\n".join(list_lines)))
                list_lines = []
        elif token.type == "inline":
            text = _inline_text(token)
            if in_heading:
                heading = text
            elif list_depth:
                list_lines.append(f"- {text}")
            elif text:
                blocks.append((heading, text))
        elif token.type in ("fence", "code_block") and token.content.strip():
            blocks.append((heading, token.content.strip()))
    return blocks


def split(markdown: str) -> list[Passage]:
    """One passage per section; a section longer than MAX_PASSAGE_CHARS is cut at its paragraphs.
    An article without headings gives one passage per paragraph."""
    passages: list[Passage] = []
    current_heading, current = None, []

    def flush():
        if current:
            passages.append(Passage(len(passages), current_heading or "", "\n".join(current)))

    for heading, text in _blocks(markdown):
        starts_section = heading != current_heading
        too_long = sum(len(t) for t in current) + len(text) > MAX_PASSAGE_CHARS
        no_headings = not heading
        if current and (starts_section or too_long or no_headings):
            flush()
            current = []
        current_heading = heading
        current.append(text)
    flush()
    return passages


def plain_text(markdown: str) -> str:
    """The whole article as plain text (headings on their own lines)."""
    lines = []
    for passage in split(markdown):
        if passage.heading and (not lines or lines[-1] != passage.heading):
            lines.append(passage.heading)
        lines.append(passage.text)
    return "\n\n".join(lines)


def render_html(markdown: str) -> str:
    """Safe HTML for the help center (raw HTML escaped, unsafe links refused)."""
    return _markdown().render(markdown or "")
