"""A long bibliography laid out in pieces, one after the other, so that a layout process holds
a few dozen of its pages at a time, not all of them.

WeasyPrint keeps every page of a document laid out until it is written: about 3 MiB a page
of bibliography, so the x50 report's IEEE bibliography (131 pages) took its layout process
to 460 MiB, the build's peak. :func:`documents` lays out the chapter with its first entries
only (about :data:`PIECE` bytes of them) and keeps the pages before the last one that begins
with an entry; the next piece begins with that entry on a new page, and so on. Each piece is
written and dropped before the next is laid out.

A page that begins with an entry is laid out as in one piece: there the boxes that hold the
entries go on from the page before with no top margin, padding or border (WeasyPrint slices
a box at a page break), and a piece's start is given the same. The entries before a piece
are left out; where a stylesheet has a selector that looks at siblings (``:nth-child()``,
``:first-of-type``, ``+``, ``~``, ``:has()`` and the like) they are kept as empty hidden
``div`` elements instead, so that it matches as before (CSS counters on the entries would
not count them). Kept in every piece, the x50 bibliography's hidden entries, each parsed and
styled again in each piece after its own, took 1.6-1.9 s of its 10.7 s layout (the same PDF
without them). Links within the chapter are made links between parts (``press-xref:``, see
:mod:`press.editions.pdfparts`): what one leads to may be laid out in another piece. Where
no page of a piece but its first begins with an entry, the next try takes twice as many
entries, or, if the piece had three pages or more (its entries break across pages), all that
are left.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import lxml.html
import tinycss2
from lxml import etree

from press.editions.pdfparts import XREF

if TYPE_CHECKING:
    import weasyprint

PIECE = 160_000
"""Bytes of entries in one piece: about 25 pages of IEEE or APA entries."""
CONTINUED = "margin-top: 0 !important; padding-top: 0 !important; border-top-width: 0 !important"
HIDDEN = "display: none !important"
SIBLINGS = {"has"} | {
    f"{which}-{kind}"
    for which in ("first", "last", "only", "nth", "nth-last")
    for kind in ("child", "of-type")
}
"""Pseudo-classes whose match depends on an element's siblings (and ``:has()``, on anything)."""


def documents(
    page: str, render: Callable[[str], weasyprint.Document], css: str = ""
) -> Iterator[weasyprint.Document]:
    """``page`` laid out by ``render``, as consecutive runs of its pages (one, unless its
    bibliography is longer than a piece and a half), with ``css`` as well as its own
    stylesheets. Drop each before asking for the next."""
    piece = PIECE
    if 'id="refs"' not in page or len(page) < piece * 3 // 2:
        yield render(page)
        return
    root = lxml.html.document_fromstring(page)
    refs = root.get_element_by_id("refs", None)
    entries = list(refs) if refs is not None else []
    sizes = [len(etree.tostring(entry)) for entry in entries]
    if sum(sizes) < piece * 3 // 2 or not all(entry.get("id") for entry in entries):
        yield render(page)
        return
    for link in root.xpath("//a[starts-with(@href, '#')]"):  # to a page of another piece
        link.set("href", XREF + link.get("href")[1:])
    sheets = [css, *(style.text_content() for style in root.iter("style"))]
    linked = root.xpath("//link[contains(@rel, 'stylesheet')]")
    keep = bool(linked) or any(_looks_at_siblings(sheet) for sheet in sheets)
    start = 0
    while True:
        end, total = start + 1, sizes[start]
        while end < len(entries) and total + sizes[end] <= piece:
            total += sizes[end]
            end += 1
        if len(entries) - end < 8:  # not a piece of a few entries at the end
            end = len(entries)
        document = render(_piece(root, entries, start, end, keep))
        if end == len(entries):
            yield document
            return
        cut = _cut(document, [entry.get("id") for entry in entries[start:end]])
        if cut is None:  # a longer piece; the rest, if its entries break across pages
            piece = sum(sizes) if len(document.pages) > 2 else piece * 2
            del document
            continue
        pages, first = cut
        kept = document.copy(document.pages[:pages])
        del document
        yield kept
        del kept
        start += first


def _piece(
    root: etree._Element, entries: list[etree._Element], start: int, end: int, keep: bool
) -> str:
    """The page with the entries from ``start`` to ``end``: from the second piece on, the
    entries before them left out (``keep``: kept, hidden), what else comes before them hidden,
    and their containers' tops as they continue from a page before."""
    document = lxml.html.document_fromstring(lxml.html.tostring(root, encoding="unicode"))
    refs = document.get_element_by_id("refs")
    for entry in list(refs)[end:]:
        refs.remove(entry)
    if start:
        first = refs[start]
        for entry in list(refs)[:start]:
            if not keep:
                refs.remove(entry)  # its tail: white space between entries
                continue
            hidden = etree.Element(entry.tag, {"class": entry.get("class", ""), "style": HIDDEN})
            hidden.tail = entry.tail
            refs.replace(entry, hidden)
        _style(first, "margin-top: 0 !important")
        node = refs
        while node.tag != "html":
            _style(node, CONTINUED)
            if node.tag != "body":
                for sibling in node.itersiblings(preceding=True):
                    _style(sibling, HIDDEN)
            node = node.getparent()
    return lxml.html.tostring(document, encoding="unicode", doctype="<!DOCTYPE html>")


def _looks_at_siblings(css: str) -> bool:
    """Whether a selector in ``css`` has a sibling combinator or a pseudo-class of
    :data:`SIBLINGS` (in ``@media`` and other blocks too; not in attribute selectors), or
    it imports another stylesheet."""

    def tokens(nodes: list[Any]) -> Iterator[Any]:
        for node in nodes:
            yield node
            if node.type in ("function", "() block"):
                yield from tokens(node.arguments if node.type == "function" else node.content)

    def found(nodes: list[Any]) -> bool:
        items = list(tokens(nodes))
        for before, node in zip([None, *items], items, strict=False):
            if node.type == "literal" and node.value in ("+", "~"):
                return True
            if getattr(before, "value", None) == ":" and node.type in ("ident", "function"):
                name = node.value if node.type == "ident" else node.name
                if name.lower() in SIBLINGS:
                    return True
        return False

    def rules(nodes: list[Any]) -> bool:
        for rule in nodes:
            if rule.type == "qualified-rule" and found(rule.prelude):
                return True
            if rule.type == "at-rule" and rule.lower_at_keyword == "import":
                return True  # what it brings is not read here: it may
            if rule.type in ("qualified-rule", "at-rule") and rule.content is not None:
                nested = tinycss2.parse_blocks_contents(rule.content)  # @media, nesting
                if rules([node for node in nested if node.type != "declaration"]):
                    return True
        return False

    return rules(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def _style(element: etree._Element, declarations: str) -> None:
    if not isinstance(element.tag, str):  # a comment
        return
    before = (element.get("style") or "").strip().rstrip(";")
    element.set("style", f"{before}; {declarations}" if before else declarations)


def _cut(document: weasyprint.Document, ids: list[str]) -> tuple[int, int] | None:
    """How many pages to keep, and the entry (from the piece's first) the next begins with:
    the last page that begins with an entry, if any."""
    index = {name: i for i, name in enumerate(ids)}
    pages = document.pages
    for number in range(len(pages) - 1, 0, -1):
        here = [index[name] for name in pages[number].anchors if name in index]
        before = {index[name] for name in pages[number - 1].anchors if name in index}
        if here and min(here) not in before and min(here) > 0:
            return number, min(here)
    return None
