"""Two changes to how WeasyPrint 70 works, not to what it makes: the PDF's pages are the same,
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
