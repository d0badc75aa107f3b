"""PDF edition: the print page template and print CSS, laid out by WeasyPrint.

WeasyPrint may read only files inside the report folder and the tool's own
styles (fonts, CSS); any other URL, local or remote, is refused and reported.
Its layout warnings are passed on to the user, not dropped.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import lxml.html
import weasyprint

from press import pandoc, resources
from press.config import PageSettings
from press.design import file_url
from press.editions import Job
from press.editions.pages import Labels, contents, fragment, labels, render, stylesheet
from press.errors import BuildError, Problem, captured, warning

log = logging.getLogger("press")
MAX_DATA_URL = 64 * 1024 * 1024  # images are embedded as data: URLs; nothing else is that big


class PdfEdition:
    name = "pdf"
    suffix = ".pdf"

    def write(self, job: Job, target: Path) -> str:
        config = job.config
        folder = config.folder
        blocks = breakable_urls(footnotes_in_place(job.document.blocks))
        body = fragment(job, blocks, place="pdf edition")
        css = job.design.font_faces(file_url) + stylesheet(job, "base.css", "print.css")
        css += page_css(config.page, labels(config.language))
        toc = contents(job.document.blocks, config.pdf.toc_depth)
        page = render(job, "print.html.j2", body=body, toc=toc, css=css)
        for char in job.design.missing_glyphs(_text_of(page)):
            message = f"no shipped font has a glyph for {char!r} (U+{ord(char):04X})"
            log.warning(warning("pdf edition", None, message, "font.missing-glyph"))
        fetcher = LocalFetcher(resources.allowed_roots(folder))
        options: dict[str, Any] = {"pdf_tags": True}
        if config.pdf.standard:
            options["pdf_variant"] = f"pdf/{config.pdf.standard}"
        with captured("weasyprint", only_here=True) as records:
            html = weasyprint.HTML(string=page, base_url=folder.as_uri() + "/", url_fetcher=fetcher)
            laid_out = html.render(**options)
            laid_out.write_pdf(target, **options)
        for record in records:
            log.warning(warning("pdf edition", None, record.getMessage(), "pdf.weasyprint"))
        if fetcher.refused:
            raise BuildError(
                Problem(
                    "pdf edition",
                    None,
                    f"refused to read {url}: outside the report folder",
                    "asset.outside",
                )
                for url in fetcher.refused
            )
        return f"{len(laid_out.pages)} pages"


def page_css(settings: PageSettings, words: Labels) -> str:
    """``@page`` rules from report.yaml: paper, margins, page numbers on the outer corners."""
    size = {"a4": "A4", "a5": "A5", "letter": "letter", "legal": "legal"}[settings.paper]
    number = {
        "plain": "counter(page)",
        "page-of-total": f'"{words.page} " counter(page) " {words.of} " counter(pages)',
        "none": "none",
    }[settings.numbers]
    rules = [
        f"@page {{ size: {size}; margin: {settings.margins}; }}",
        f"@page :right {{ @bottom-right {{ content: {number}; }} }}",
        f"@page :left {{ @bottom-left {{ content: {number}; }} }}",
    ]
    if settings.furniture_on_cover:
        rules.append(
            "@page cover { @top-left { content: string(report-title); } "
            f"@bottom-right {{ content: {number}; }} }}"
        )
    return "\n" + "\n".join(rules) + "\n"


def breakable_urls(blocks: list[pandoc.Node]) -> list[pandoc.Node]:
    """URLs shown as link text may break after ``/`` and before ``?&=#``, not mid-word."""

    def soften(node: pandoc.Node) -> pandoc.Node:
        if node["t"] != "Link":
            return node
        shown = pandoc.stringify(node["c"][1])
        if shown != node["c"][2][0] or len(shown) < 30:
            return node
        text = re.sub(r"(?<=[/])(?=[^/])|(?=[?&=#])", "\u200b", shown)
        return {"t": "Link", "c": [node["c"][0], [{"t": "Str", "c": text}], node["c"][2]]}

    result: list[pandoc.Node] = pandoc.transform(blocks, soften)
    return result


def _text_of(page: str) -> str:
    """The characters a reader will see: the page's text, without markup, CSS or data URLs."""
    root = lxml.html.fromstring(page)
    for element in root.xpath("//style | //script | //head"):
        element.drop_tree()
    return root.text_content()


def footnotes_in_place(blocks: list[pandoc.Node]) -> list[pandoc.Node]:
    """Notes as ``<span class="footnote">`` where they are called, for CSS ``float: footnote``."""

    def inline_note(node: pandoc.Node) -> pandoc.Node:
        if node["t"] != "Note":
            return node
        inlines: list[pandoc.Node] = []
        for block in node["c"]:
            if inlines:
                inlines.append({"t": "LineBreak"})
            if block["t"] in ("Para", "Plain"):
                inlines.extend(block["c"])
            else:
                inlines.append({"t": "Str", "c": pandoc.stringify(block)})
        return {"t": "Span", "c": [["", ["footnote"], []], inlines]}

    result: list[pandoc.Node] = pandoc.transform(blocks, inline_note)
    return result


class LocalFetcher(weasyprint.URLFetcher):
    """A URL fetcher that reads ``data:`` URLs and files under the allowed folders only."""

    def __init__(self, roots: tuple[Path, ...]) -> None:
        super().__init__(allowed_protocols=("file", "data"))
        self.roots = roots
        self.refused: list[str] = []

    def fetch(
        self, url: str, headers: dict[str, str] | None = None
    ) -> weasyprint.urls.URLFetcherResponse:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme == "data" and len(url) <= MAX_DATA_URL:
            return super().fetch(url, headers)
        if parsed.scheme == "file":
            path = Path(urllib.request.url2pathname(parsed.path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots):
                return super().fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"not allowed: {url}")
