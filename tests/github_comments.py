"""Markdown comments read as GitHub shows them: cmark-gfm with the extensions github.com enables, parsed back.

GitHub renders a comment's raw HTML (``<details>``, ``<code>``) and then sanitises it, so the HTML here is
rendered unsafe, as GitHub's renderer does before its sanitiser. What a reviewer sees is then checked on the
HTML, not guessed from the Markdown: headings, tables and their rows, the collapsible blocks, links and code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

EXTENSIONS = ("table", "strikethrough", "autolink", "tagfilter", "tasklist")


def to_html(markdown: str) -> str:
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=list(EXTENSIONS)
    )


@dataclass
class Cell:
    text: str = ""
    codes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


@dataclass
class Block:
    """One ``<details>`` block: its summary and the table rows (body rows only) inside it."""

    summary: Cell = field(default_factory=Cell)
    rows: list[list[Cell]] = field(default_factory=list)
    tables: int = 0
    links: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)


@dataclass
class Page:
    headings: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    opened: int = 0
    closed: int = 0
    deepest: int = 0
    unbalanced: bool = False
    stray_tables: int = 0  # tables outside any block


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.depth = 0
        self.heading: list[str] | None = None
        self.cell: Cell | None = None
        self.in_summary = False
        self.in_body = False
        self.code: list[str] | None = None

    @property
    def block(self) -> Block | None:
        return self.page.blocks[-1] if self.depth else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details":
            self.page.opened += 1
            self.depth += 1
            self.page.deepest = max(self.page.deepest, self.depth)
            self.page.blocks.append(Block())
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.heading = [tag]
        elif tag == "summary" and self.block:
            self.in_summary = True
        elif tag == "table":
            if self.block:
                self.block.tables += 1
            else:
                self.page.stray_tables += 1
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body and self.block:
            self.block.rows.append([])
        elif tag == "td" and self.in_body and self.block:
            self.cell = Cell()
            self.block.rows[-1].append(self.cell)
        elif tag == "code":
            self.code = []
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            for target in self._targets():
                target.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self.page.closed += 1
            self.depth -= 1
            self.page.unbalanced |= self.depth < 0
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self.heading:
            self.page.headings.append((self.heading[0], "".join(self.heading[1:])))
            self.heading = None
        elif tag == "summary":
            self.in_summary = False
        elif tag == "tbody":
            self.in_body = False
        elif tag == "td":
            self.cell = None
        elif tag == "code" and self.code is not None:
            text = "".join(self.code)
            for target in self._targets():
                target.codes.append(text)
            self.code = None

    def handle_data(self, data: str) -> None:
        if self.heading is not None:
            self.heading.append(data)
        if self.code is not None:
            self.code.append(data)
        if self.cell is not None:
            self.cell.text += data
        if self.in_summary and self.block:
            self.block.summary.text += data

    def _targets(self) -> list[Cell | Block]:
        targets: list[Cell | Block] = []
        if self.cell is not None:
            targets.append(self.cell)
        if self.in_summary and self.block:
            targets.append(self.block.summary)
        if self.block:
            targets.append(self.block)
        return targets


def read(markdown: str) -> Page:
    """The comment ``markdown`` as GitHub renders it, read back into what a reviewer sees."""
    reader = _Reader()
    reader.feed(to_html(markdown))
    reader.close()
    return reader.page
