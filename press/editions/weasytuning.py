"""Four changes to how WeasyPrint 70 works, not to what it makes: the PDF's pages are the same,
made in less time. Applied once per process, before the first layout (:func:`apply`). And
what WeasyPrint does on its first layout in a process, done ahead (:func:`warm`).
"""

from __future__ import annotations

import contextlib
import re
from functools import cache as once
from math import inf
from typing import Any

_SIZED_ARRAY = re.compile(r"(\w+)\[(\d+)\]")
FIRST_TYPES = (
    "unsigned int *",
    "hb_tag_t[100]",
    "hb_codepoint_t[]",
    "char[]",
    "char[4]",
    "PangoRectangle *",
    "PangoLogAttr[]",
)
"""The C types WeasyPrint asks cffi for when it first lays out text (with :func:`apply`):
cffi parses each with pycparser the first time, 18 ms in all."""


def warm(lang: str) -> None:
    """What WeasyPrint does on its first layout in a process, done for this process and those
    forked from it after: the hyphenation patterns for ``lang`` read (55 ms, in each process
    that lays out hyphenated text) and :data:`FIRST_TYPES` parsed."""
    import pyphen
    from cffi import CDefError
    from weasyprint.text.ffi import ffi

    apply()
    for cdecl in FIRST_TYPES:
        with contextlib.suppress(CDefError):  # one a later WeasyPrint no longer declares
            ffi.typeof(cdecl)
    if language := pyphen.language_fallback(lang):
        pyphen.Pyphen(lang=language)


@once
def apply() -> None:
    _one_array_type()
    _one_run_per_leader()
    _page_styles_shared()
    _margin_widths_kept()


def _margin_widths_kept() -> None:
    """WeasyPrint sizes the margin boxes on each side of every page from their contents'
    min-content and max-content widths, laying out their text for each: most of a sheet of
    running heads, whose title and chapter repeat from page to page. Here each width is kept
    for the document under what it depends on, the box's content (its boxes, their styles
    and text: pages matched by the same selectors share styles) and found there for the next
    page. The x50 report's sheets in 1.8-2.1 s instead of 2.5-2.8, the same bytes."""
    from weasyprint.layout import page as pages

    def kept(kind: str) -> property:
        attribute = f"_{kind}_content_size"
        original = getattr(pages.HorizontalBox, f"{kind}_content_size").fget

        def size(self: Any) -> Any:
            if getattr(self, attribute) is None:
                measure = getattr(pages, f"{kind}_content_width")
                key = _content_key(self.box)
                if key is None:
                    value = measure(self.context, self.box, outer=False)
                else:
                    widths = self.context.__dict__.setdefault("_press_margin_widths", {})
                    if (kind, key[0]) not in widths:  # with the styles: their ids stay theirs
                        widths[kind, key[0]] = measure(self.context, self.box, outer=False), key[1]
                    value = widths[kind, key[0]][0]
                setattr(self, attribute, value)
            return getattr(self, attribute)

        size.__wrapped__ = original  # type: ignore[attr-defined]
        return property(size)

    pages.HorizontalBox.min_content_size = kept("min")
    pages.HorizontalBox.max_content_size = kept("max")


def _content_key(box: Any) -> tuple[tuple[object, ...], list[object]] | None:
    """What a margin box's width depends on, each of its boxes in order (kind, style, text,
    number of children), and their styles; None when it holds more than lines of text."""
    from weasyprint.formatting_structure import boxes

    kinds = (boxes.MarginBox, boxes.LineBox, boxes.InlineBox, boxes.TextBox)
    parts, styles, stack = [], [], [box]
    while stack:
        item = stack.pop()
        if not isinstance(item, kinds):
            return None
        children = getattr(item, "children", ())
        parts.append((type(item), id(item.style), getattr(item, "text", None), len(children)))
        styles.append(item.style)
        stack.extend(reversed(children))
    return tuple(parts), styles


def _page_styles_shared() -> None:
    """WeasyPrint gives every page a page type of its own (its number is part of it), and so
    cascades the ``@page`` rules and computes the styles of the page and its 16 margin
    boxes again for every page. Here a page that the same ``@page`` selectors match as an
    earlier page of the document shares that page's styles (the same cascade from the same
    parent: the same values; what WeasyPrint changes in them on each page, page-based
    counters standardized and the root's overflow, comes out the same again). The sheets of
    running heads, a page each: the x50 report's 592 in 2.5-2.7 s instead of 4.1, the same
    bytes. A chapter's pages are a document of their own, with none before them to share."""
    from weasyprint.layout import page as pages

    set_styles = pages.set_page_type_computed_styles

    def set_page_type_computed_styles(page_type: Any, html: Any, style_for: Any) -> None:
        matched = tuple(
            style_for._page_type_match(selector[2], page_type)
            for sheet, _origin, _specificity in style_for._sheets
            for _rule, selectors, _declarations in sheet.page_rules
            for selector in selectors
        )
        known = style_for.__dict__.setdefault("_press_page_styles", {})
        if matched not in known:
            set_styles(page_type, html, style_for)
            pseudos = {None} | {p for e, p in style_for.get_cascaded_styles() if e == page_type}
            known[matched] = (page_type, pseudos)
            return
        first, pseudos = known[matched]
        cascaded, computed = style_for.get_cascaded_styles(), style_for.get_computed_styles()
        for pseudo in pseudos:
            if (first, pseudo) in cascaded:
                cascaded[page_type, pseudo] = cascaded[first, pseudo]
            computed[page_type, pseudo] = computed[first, pseudo]

    set_page_type_computed_styles.__wrapped__ = set_styles  # type: ignore[attr-defined]
    pages.set_page_type_computed_styles = set_page_type_computed_styles


def _one_array_type() -> None:
    """WeasyPrint asks cffi for a C array type of each length it subsets a font to
    (``hb_codepoint_t[N]``), and cffi parses each new type with pycparser, 8 ms a time: a
    quarter of the seed's chapter layouts. Here the same arrays, from the same values, are
    made as ``hb_codepoint_t[]``: one type, parsed once per process."""
    from weasyprint.text.ffi import ffi

    new = ffi.new

    def new_array(cdecl: Any, init: Any = None) -> Any:
        if isinstance(cdecl, str) and isinstance(init, (list, tuple)):
            sized = _SIZED_ARRAY.fullmatch(cdecl)
            if sized and int(sized[2]) == len(init):
                cdecl = f"{sized[1]}[]"
        return new(cdecl, init)

    ffi.new = new_array  # type: ignore[method-assign]


def _one_run_per_leader() -> None:
    """WeasyPrint fills a ``leader()`` with one text box per copy of its string, each drawn
    apart: a line of the contents is 40 boxes of one dot, and the x50 contents 46,000, which
    took 6.8 s of its 25 pages. Here the copies WeasyPrint placed become one box of the same
    text from the first copy's place, where its shaped width reaches the last copy's end
    (to 0.01 pt; else the copies are kept): 2.7 s, the pages the same to the pixel."""
    from weasyprint.layout import inline
    from weasyprint.layout.leader import leader_index
    from weasyprint.text.line_break import split_first_line

    place = inline.handle_leader

    def handle_leader(context: Any, line: Any, containing_block: Any) -> None:
        place(context, line, containing_block)
        _index, leader = leader_index(line)
        if leader is None or len(leader.children) < 2:
            return
        copies = sorted(leader.children, key=lambda box: box.position_x)
        first, last = copies[0], copies[-1]
        text = first.text * len(copies)
        layout, _length, resume, width, _height, _baseline = split_first_line(
            text, first.style, context, inf, first.justification_spacing
        )
        if resume is not None or layout.text != text:
            return
        if abs(first.position_x + width - (last.position_x + last.width)) > 0.01:
            return
        run = first.copy_with_text(text)
        run.pango_layout, run.width = layout, width
        leader.children = (run,)

    handle_leader.__wrapped__ = place  # type: ignore[attr-defined]
    inline.handle_leader = handle_leader
