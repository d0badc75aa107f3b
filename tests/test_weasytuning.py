"""What press changes in how WeasyPrint works leaves what it lays out as it was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import weasyprint
from weasyprint.layout import inline
from weasyprint.layout import page as pages

from press.editions import weasytuning
from press.resources import TOOL_ROOT

CONTENTS = """<!DOCTYPE html><html><head><style>
  @page { size: A5; margin: 15mm; }
  body { font-family: serif; }
  li { list-style: none; }
  .dots a::after { content: leader(".") " " attr(data-page); }
  .spaced a::after { content: leader(dotted) attr(data-page); }
  .rule a::after { content: leader("_") attr(data-page); }
</style></head><body>
  <ul class="dots">
    <li><a data-page="3">Introduction</a></li>
    <li><a data-page="12">A heading long enough to wrap across the whole width of the line and
      on to a second line, where the leader begins</a></li>
  </ul>
  <ul class="spaced"><li><a data-page="47">Reactions of Japan and South Korea</a></li></ul>
  <ul class="rule"><li><a data-page="101">Bibliography</a></li></ul>
</body></html>"""


def leaders(document: weasyprint.Document) -> list[list[tuple[str, float, float]]]:
    """Each leader's boxes from left to right: their text, left and right edges."""
    found: list[list[tuple[str, float, float]]] = []

    def walk(box: Any) -> None:
        if box.is_leader:
            boxes = sorted(box.children, key=lambda c: c.position_x)
            found.append([(c.text, c.position_x, c.position_x + c.width) for c in boxes])
        for child in getattr(box, "children", ()):
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return found


def test_a_leader_is_one_run_of_the_same_dots_in_the_same_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weasytuning.apply()
    tuned = leaders(weasyprint.HTML(string=CONTENTS).render())
    monkeypatch.setattr(inline, "handle_leader", inline.handle_leader.__wrapped__)
    plain = leaders(weasyprint.HTML(string=CONTENTS).render())
    assert len(tuned) == len(plain) == 4
    for run, copies in zip(tuned, plain, strict=True):
        assert len(copies) > 10 and len(run) == 1
        text, left, right = run[0]
        assert text == "".join(t for t, _l, _r in copies)
        assert left == pytest.approx(copies[0][1], abs=1e-6)
        assert right == pytest.approx(copies[-1][2], abs=0.01)


PAGES = (
    """<!DOCTYPE html><html><head><style>
  @page { size: A6; margin: 15mm;
    @top-left { content: "The report"; } @top-right { content: string(chapter); }
    @bottom-right { content: counter(page) " of " counter(pages); } }
  @page :first { @top-left { content: none; } }
  @page :left { @bottom-left { content: counter(page); } @bottom-right { content: none; } }
  @page :blank { @top-right { content: "(blank)"; } }
  @page :nth(4) { @top-left { content: "The fourth"; } }
  @page wide { size: A6 landscape; @top-left { content: "Wide"; } }
  h1 { string-set: chapter content(); break-before: right; }
  .wide { page: wide; }
</style></head><body>
  <h1>One</h1>"""
    + "<p>A paragraph of the first chapter, long enough to fill lines.</p>" * 30
    + """
  <div class="wide">"""
    + "<p>A table's worth of wide text.</p>" * 20
    + """</div>
  <h1>Two</h1>"""
    + "<p>The second chapter, with lines enough for pages.</p>" * 150
    + """
</body></html>"""
)


def test_pages_matched_by_the_same_selectors_share_styles_and_look_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weasytuning.apply()
    tuned = weasyprint.HTML(string=PAGES).render()
    monkeypatch.setattr(
        pages, "set_page_type_computed_styles", pages.set_page_type_computed_styles.__wrapped__
    )
    plain = weasyprint.HTML(string=PAGES).render()
    assert len(tuned.pages) == len(plain.pages) >= 20
    assert tuned.write_pdf() == plain.write_pdf()
    shared = {id(page._page_box.style) for page in tuned.pages}
    assert len({id(page._page_box.style) for page in plain.pages}) == len(plain.pages)
    assert len(shared) == 7  # first; left, right; the 4th; wide left, wide right; blank


def test_margin_boxes_alike_are_measured_once_and_look_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weasytuning.apply()
    measured: list[int] = []
    measure = pages.max_content_width
    monkeypatch.setattr(
        pages, "max_content_width", lambda *args, **kw: measured.append(1) or measure(*args, **kw)
    )
    tuned, kept = weasyprint.HTML(string=PAGES).write_pdf(), len(measured)
    for kind in ("min", "max"):
        size = getattr(pages.HorizontalBox, f"{kind}_content_size").fget.__wrapped__
        monkeypatch.setattr(pages.HorizontalBox, f"{kind}_content_size", property(size))
    measured.clear()
    assert weasyprint.HTML(string=PAGES).write_pdf() == tuned
    assert len(measured) > 40 and kept < len(measured) * 0.6  # page numbers differ, heads repeat


WARMED = """
import json
import pyphen, weasyprint
from weasyprint.text.ffi import ffi
from weasyprint.text.fonts import FontConfiguration
from press.editions import weasytuning

fonts = FontConfiguration()
css = weasyprint.CSS(string="p { hyphens: auto; text-align: justify; width: 4cm }",
                     font_config=fonts)
weasytuning.warm("en-US")
types, patterns = set(ffi._parsed_types), set(pyphen.hdcache)
page = "<html lang=en-US><p>" + "Internationalisation of extraordinarily long words. " * 20
weasyprint.HTML(string=page).render(stylesheets=[css], font_config=fonts).write_pdf()
print(json.dumps({"types": sorted(set(ffi._parsed_types) - types),
                  "patterns": [str(p) for p in set(pyphen.hdcache) - patterns],
                  "warmed": [str(p) for p in patterns]}))
"""


def test_a_warmed_process_lays_out_without_parsing_c_types_or_reading_patterns() -> None:
    """What a process's first layout would do (:func:`weasytuning.warm`) is done: a page of
    hyphenated, justified text then parses no C type and reads no hyphenation patterns."""
    ran = subprocess.run([sys.executable, "-c", WARMED], cwd=TOOL_ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    found = json.loads(ran.stdout)
    assert found["types"] == []
    assert found["patterns"] == []
    assert [Path(p).name for p in found["warmed"]] == ["hyph_en_US.dic"]
