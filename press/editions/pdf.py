"""PDF edition: the print page template and print CSS, laid out by WeasyPrint.

WeasyPrint may read only files inside the report folder and the tool's own
styles (fonts, CSS); any other URL, local or remote, is refused and reported.
Its layout warnings are passed on to the user, not dropped.
"""

from __future__ import annotations

import logging
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import weasyprint

from press import pandoc, resources
from press.design import file_url
from press.editions import Job
from press.editions.pages import contents, fragment, render, stylesheet
from press.errors import BuildError, Problem, warning

log = logging.getLogger("press")


class PdfEdition:
    name = "pdf"
    suffix = ".pdf"

    def write(self, job: Job, target: Path) -> str:
        folder = job.config.folder
        blocks = footnotes_in_place(job.document.blocks)
        body = fragment(job, blocks, place="pdf edition")
        css = job.design.font_faces(file_url) + stylesheet(job, "base.css", "print.css")
        page = render(job, "print.html.j2", body=body, toc=contents(job.document.blocks), css=css)
        fetcher = LocalFetcher(resources.allowed_roots(folder))
        with _weasyprint_warnings() as warnings:
            html = weasyprint.HTML(string=page, base_url=folder.as_uri() + "/", url_fetcher=fetcher)
            laid_out = html.render(pdf_tags=True)
            laid_out.write_pdf(target, pdf_tags=True)
        for message in warnings:
            log.warning(warning("pdf edition", None, message, "pdf.weasyprint"))
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
        if parsed.scheme == "data":
            return super().fetch(url, headers)
        if parsed.scheme == "file":
            path = Path(urllib.request.url2pathname(parsed.path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots):
                return super().fetch(url, headers)
        self.refused.append(url)
        raise ValueError(f"not allowed: {url}")


@contextmanager
def _weasyprint_warnings() -> Iterator[list[str]]:
    """Collect what WeasyPrint logs at warning level or above while the block runs."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("weasyprint")
    handler = Collect(level=logging.WARNING)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
