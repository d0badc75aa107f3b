"""HTML edition: pandoc's HTML of the processed document in the web page template.

The page is one self-contained file: its CSS is inlined and its fonts are
subset to the characters the report uses and embedded as WOFF2 data.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from press import extract, pandoc
from press.design import FontFile, data_url, subset_font
from press.editions import Job
from press.editions.pages import as_json, contents, fragment, render, stylesheet
from press.sources import report_values

ALWAYS = {chr(c) for c in range(0x20, 0x7F)} | set(
    "\u00a0\u2013\u2014\u2018\u2019\u201c\u201d\u2026"
)


class HtmlEdition:
    name = "html"
    splits = False
    suffix = ".html"
    libraries = ()

    def ahead(self, job: Job) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def rehearse(self, job: Job) -> None:
        """Nothing: its pandoc runs beside citeproc's would be the build's peak."""

    def write(self, job: Job, target: Path) -> str:
        # A copy of its own, freed before pandoc runs: a walk over the shared document would
        # copy into this process every page of it, kept while pandoc runs (x50: ~100 MiB).
        blocks = json.loads(job.document.json)["blocks"]
        document = as_json(job, with_backlinks(blocks))
        del blocks
        body = fragment(document, place="html edition", shift=1)
        characters = set(body) | set(str(report_values(job.config))) | ALWAYS
        fonts = job.design.font_faces(lambda font: _embedded(font, characters))
        css = fonts + stylesheet(job, "base.css", "web.css")
        page = render(job, "web.html.j2", body=body, toc=contents(job.document), css=css)
        data = page.encode()
        target.write_bytes(data)
        extract.html_text(data)  # what the parity check will read
        return f"{len(data) // 1024} KiB, self-contained"


def with_backlinks(blocks: list[pandoc.Node]) -> list[pandoc.Node]:
    """Each citation gets an anchor and its full reference on hover or focus; each
    bibliography entry links back to where it is cited. Changes ``blocks`` (the writer's own
    copy): one walk that notes where citations and entries are (x50: 0.3 s, not 0.9 for two
    walks and a copy)."""
    places: list[Place] = []
    entries: list[pandoc.Node] = []
    _find(blocks, places, entries)
    references = {entry["c"][0][0][4:]: pandoc.stringify(entry["c"][1]) for entry in entries}
    cited_at: dict[str, list[str]] = {}
    for count, (parent, index) in enumerate(places, start=1):
        node = parent[index]
        ident = f"cite-{count}"
        keys = [c["citationId"] for c in node["c"][0]]
        for key in keys:
            cited_at.setdefault(key, []).append(ident)
        full = " ".join(" ".join(references[k].split()) for k in keys if references.get(k))
        inner: list[pandoc.Node] = [node]
        if full:
            tip = [["", ["cite-tip"], [["role", "tooltip"], ["id", f"{ident}-tip"]]]]
            inner.append({"t": "Span", "c": [*tip, [{"t": "Str", "c": full}]]})
        parent[index] = {"t": "Span", "c": [[ident, ["cite-anchor"], []], inner]}
    for entry in entries:
        links: list[pandoc.Node] = []
        for number, target in enumerate(cited_at.get(entry["c"][0][0][4:], []), start=1):
            label = [["aria-label", f"Back to citation {number}"]]
            links += [
                {"t": "Space"},
                {"t": "Link", "c": [["", [], label], [{"t": "Str", "c": "↩"}], [f"#{target}", ""]]},
            ]
        if links:
            span = {"t": "Span", "c": [["", ["cited-from"], []], links]}
            entry["c"][1].append({"t": "Plain", "c": [span]})
    return blocks


Place = tuple[list[pandoc.Node], int]
"""A list of the AST and an index in it."""


def _find(value: Any, places: list[Place], entries: list[pandoc.Node]) -> None:
    """Where each citation is (its list and index) and each bibliography entry, in order."""
    if isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, dict) and "t" in child:
                kind = child["t"]
                if kind == "Cite":
                    places.append((value, index))
                    continue  # a citation's text holds no other citation
                if kind == "Div" and child["c"][0][0].startswith("ref-"):
                    entries.append(child)
            _find(child, places, entries)
    elif isinstance(value, dict):
        for child in value.values():
            if isinstance(child, (list, dict)):
                _find(child, places, entries)


def _embedded(font: FontFile, characters: set[str]) -> str:
    """The font as a data: URL, subset to ``characters`` (a local() name when it has none).
    WOFF, not WOFF2: fontTools' WOFF2 encoder took 0.5 s of a short report's cold build (its
    glyph transform in Python, Brotli at its slowest), zlib 0.02 s, for fonts 25% larger
    (the seed's seven: 154 KB, not 123)."""
    data = subset_font(font, characters, flavor="woff")
    return data_url(data) if data else f'local("{font.family}")'
