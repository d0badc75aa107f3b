"""HTML edition: pandoc's HTML of the processed document in the web page template.

The page is one self-contained file: its CSS is inlined and its fonts are
subset to the characters the report uses and embedded as WOFF2 data.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from press.design import FontFile, data_url
from press.editions import Job
from press.editions.pages import contents, fragment, render, stylesheet
from press.sources import report_values

ALWAYS = {chr(c) for c in range(0x20, 0x7F)} | set(
    "\u00a0\u2013\u2014\u2018\u2019\u201c\u201d\u2026"
)


class HtmlEdition:
    name = "html"
    suffix = ".html"

    def write(self, job: Job, target: Path) -> str:
        blocks = job.document.blocks
        body = fragment(job, blocks, place="html edition")
        characters = set(body) | set(str(report_values(job.config))) | ALWAYS
        fonts = job.design.font_faces(lambda font: _embedded(font, characters))
        css = fonts + stylesheet(job, "base.css", "web.css")
        page = render(job, "web.html.j2", body=body, toc=contents(blocks), css=css)
        target.write_text(page, encoding="utf-8")
        return f"{len(page.encode()) // 1024} KiB, self-contained"


def _embedded(font: FontFile, characters: set[str]) -> str:
    """The font as a data: URL, subset to ``characters`` (empty when it has none of them)."""
    ttf = TTFont(str(font.path), lazy=True)
    cmap = ttf.getBestCmap() or {}
    wanted = sorted(ord(c) for c in characters if ord(c) in cmap)
    ttf.close()
    if not wanted:
        return 'local("' + font.family + '")'
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    full = TTFont(str(font.path))
    subsetter.populate(unicodes=wanted)
    quiet = logging.getLogger("fontTools.subset")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        subsetter.subset(full)
    finally:
        quiet.setLevel(level)
    out = io.BytesIO()
    full.flavor = "woff2"
    full.save(out)
    return data_url(out.getvalue())
