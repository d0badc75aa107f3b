"""PDF edition: the print page template and print CSS, laid out by WeasyPrint.

WeasyPrint may read only files inside the report folder and the tool's own
styles (fonts, CSS); any other URL, local or remote, is refused and reported.
Its layout warnings are passed on to the user, not dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache as once
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lxml.html

from press import cache, extract, pandoc, resources
from press.config import Config, PageSettings
from press.design import file_url
from press.editions import Job
from press.editions.pages import (
    Labels,
    as_json,
    contents,
    fragment,
    labels,
    render,
    stylesheet,
)
from press.errors import BuildError, Problem, captured, warning
from press.workers import parallel, tell

if TYPE_CHECKING:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    from press.editions import pdfparts

log = logging.getLogger("press")
MAX_DATA_URL = 64 * 1024 * 1024  # images are embedded as data: URLs; nothing else is that big


class PdfEdition:
    name = "pdf"
    splits = True
    suffix = ".pdf"
    libraries = ("weasyprint", "press.editions.pdfparts")
    """pdfparts for pikepdf and HarfBuzz (0.07 s), also while the report is read."""

    def ahead(self, job: Job) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def write(self, job: Job, target: Path) -> str:
        config = job.config
        with _first_layout_ahead(config.language, beside=not job.long):
            # every core: a long report's other writers start when the chapters are handed out
            page = print_page(job, at_once=os.cpu_count() or 1)
        for char in job.design.missing_glyphs(_text_of(page)):
            message = f"no shipped font has a glyph for {char!r} (U+{ord(char):04X})"
            log.warning(warning("pdf edition", None, message, "font.missing-glyph"))
        options = _options(config)
        reading = extract.print_reading(config, job.design)
        parts = _split(page, job)
        if parts is None:  # one piece, handed out as one (the other writers start with it)
            whole = _reported(parallel(lay_out, [(Layout(page, config.folder, options),)])[0])
            target.write_bytes(whole.pdf)
            return f"{whole.pages} pages"
        fonts = [font.path for font in job.design.font_files]
        return _write_in_parts(parts, config.folder, options, reading, target, fonts)

    def rehearse(self, job: Job) -> None:
        """Lay out the chapters of a draft into the cache, longest first, one after another,
        with the contents' first try: :meth:`write` finds those that came out the same. Not
        the bibliography: its layout, up to 300 MiB, beside citeproc's pandoc would be the
        build's peak (and the draft's bibliography is where it may differ)."""
        parts = _split(print_page(job), job)
        if parts is None:
            return
        reading = extract.print_reading(job.config, job.design)
        layouts = _layouts(parts, job.config.folder, _options(job.config), reading)
        if job.document.outline:  # its chapters are headings alone: the front's first try
            layouts = layouts[:1]
        store = cache.active()
        for layout in sorted(layouts, key=lambda layout: -len(layout.page)):
            if 'id="refs"' not in layout.page and not store.has("pdf-layout", layout.key()):
                lay_out(layout)


@contextlib.contextmanager
def _first_layout_ahead(lang: str, beside: bool) -> Iterator[None]:
    """What each layout process does first, done once for this process and those it forks
    after the block: WeasyPrint's first steps (:func:`weasytuning.warm`) and PDFium loaded,
    to read each chapter's text with. ``beside``: in a thread while the block runs (the
    print page, whose HTML pandoc makes meanwhile; the embedded report's cold build 1.88 ->
    1.74 s, median of 12 alternating runs). Else after it: in a long report the thread's
    objects, made among the print page's, kept that memory from being freed, and each
    process forked after held 10-14 MiB more (x50 distinct cold: 716 MiB at the peak, not
    673), for no time saved."""

    def warm() -> None:
        import pypdfium2  # noqa: F401

        from press.editions import weasytuning

        weasytuning.warm(lang)

    if not beside:
        yield
        warm()
        return
    thread = threading.Thread(target=warm, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()  # before any fork: a thread's locks are not a child's


def _split(page: str, job: Job) -> pdfparts.Split | None:
    """The print page in parts (:func:`pdfparts.split`), a long report's short chapters
    sharing parts; for the write and for its rehearsal alike, so that both lay out the same."""
    from press.editions import pdfparts

    return pdfparts.split(page, pdfparts.PART if job.long else 0)


def _options(config: Config) -> dict[str, Any]:
    """WeasyPrint's options for the report: tagged, and the PDF standard it asks for."""
    options: dict[str, Any] = {"pdf_tags": True}
    if config.pdf.standard:
        options["pdf_variant"] = f"pdf/{config.pdf.standard}"
    return options


def print_page(job: Job, at_once: int = 1) -> str:
    """The whole report as one HTML page for print: cover, contents, chapters, print CSS;
    ``at_once`` as :func:`fragment` takes it."""
    config = job.config
    blocks = as_json(job, pandoc.transform(job.document.blocks, _for_print))
    body = fragment(blocks, place="pdf edition", at_once=at_once)
    css = job.design.font_faces(file_url) + stylesheet(job, "base.css", "print.css")
    css += page_css(config.page, labels(config.language))
    toc = contents(job.document, config.pdf.toc_depth)
    return render(job, "print.html.j2", body=body, toc=toc, css=css)


@dataclass(frozen=True)
class Layout:
    """What to lay out: a whole HTML page and how, the key of its result in the cache."""

    page: str
    folder: Path
    options: dict[str, Any]
    reading: extract.Reading | None = None
    """When given, each page's text is read too, this way."""
    css: str = ""
    """A stylesheet kept parsed, with its fonts loaded, for the next page."""
    write: bool = True
    """Without it only the pages are counted (no PDF)."""

    def key(self) -> str:
        return cache.key("pdf-layout", self.page, self.folder.as_posix(), self.options,
                         self.reading, self.css, self.write)  # fmt: skip


@dataclass
class Laid:
    """One laid-out page of HTML: its PDF, what a reader finds on each page, its anchors."""

    pdf: bytes
    pages: int
    text: list[extract.PdfPage]
    """Each page's text (when asked for)."""
    anchors: dict[str, int]
    """Page (from 0) of each anchor."""
    warnings: list[str]
    refused: list[str]
    cached: bool = False


def lay_out(layout: Layout) -> Laid:
    """``layout`` laid out by WeasyPrint, reading only allowed files; cached."""
    hit = _from_cache(layout.key())
    if hit is not None:
        return hit
    import weasyprint

    from press.editions import pdfparts, pdfpieces, weasytuning

    weasytuning.apply()
    folder = layout.folder
    fetcher = local_fetcher(resources.allowed_roots(folder))
    with captured("weasyprint", only_here=True) as records:
        shared: dict[str, Any] = {}
        if layout.css:
            sheet, fonts, refused = _stylesheet(layout.css, folder)
            shared = {"stylesheets": [sheet], "font_config": fonts}
            fetcher.refused += refused

        def render(page: str) -> weasyprint.Document:
            html = weasyprint.HTML(string=page, base_url=folder.as_uri() + "/",
                                   url_fetcher=fetcher)  # fmt: skip
            return html.render(**layout.options, **shared)

        pieces, pages, anchors = [], 0, {}
        for document in pdfpieces.documents(layout.page, render, layout.css):
            for i, page in enumerate(document.pages):
                for name in page.anchors:
                    anchors.setdefault(name, pages + i)
            pages += len(document.pages)
            if layout.write:
                pieces.append(document.write_pdf(**layout.options))
            del document  # before the next piece is laid out
    data = pdfparts.merge(pieces) if pieces else b""
    reading = layout.reading if layout.write else None
    text = extract.read_pages(data, reading) if reading else []
    warnings = list(dict.fromkeys(r.getMessage() for r in records))  # pieces: an entry twice
    laid = Laid(data, pages, text, anchors, warnings, fetcher.refused)
    if not laid.refused:
        values = dataclasses.asdict(laid)
        del values["pdf"], values["cached"]
        cache.active().put("pdf-layout", layout.key(), json.dumps(values).encode() + b"\n" + data)
    return laid


_STYLESHEETS: dict[tuple[str, str, str], tuple[weasyprint.CSS, FontConfiguration, list[str]]] = {}
atexit.register(_STYLESHEETS.clear)  # their fonts' finalizer, before the interpreter's teardown


def _stylesheet(css: str, folder: Path) -> tuple[weasyprint.CSS, FontConfiguration, list[str]]:
    """``css`` parsed, its fonts loaded, once per process and build (not once per chapter:
    that took two thirds of a short chapter's layout), and for the processes forked after
    that not at all; the URLs it was refused. The stylesheets of a build share their fonts
    (the chapters', the front's and the sheets' load the same ones)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    key = (css, folder.as_posix(), tempfile.gettempdir())
    if key not in _STYLESHEETS:
        if any(k[1:] != key[1:] for k in _STYLESHEETS):
            _STYLESHEETS.clear()  # another build's: its fonts were in its temporary folder
        fetcher = local_fetcher(resources.allowed_roots(folder))
        shared = next(iter(_STYLESHEETS.values()), None)
        fonts = shared[1] if shared else FontConfiguration()
        sheet = weasyprint.CSS(
            string=css, base_url=folder.as_uri() + "/", url_fetcher=fetcher, font_config=fonts
        )
        _STYLESHEETS[key] = (sheet, fonts, fetcher.refused)
    return _STYLESHEETS[key]


def _from_cache(digest: str) -> Laid | None:
    """What :func:`lay_out` laid out before under ``digest``, if it is in the cache."""
    hit = cache.active().get("pdf-layout", digest)
    if hit is None:
        return None
    header, _, data = hit.partition(b"\n")
    values = json.loads(header)
    values["text"] = [extract.PdfPage(**p) for p in values["text"]]
    return Laid(pdf=data, cached=True, **values)


def _laid_out(
    layouts: list[Layout],
    finishing: bool = False,
    meanwhile: Callable[[list[Laid | None]], Callable[[], object] | None] | None = None,
    first: Callable[[], object] | None = None,
) -> list[Laid]:
    """:func:`lay_out` for each of ``layouts``: what is cached read here, the rest laid out
    in the workers (not a task per cached chapter: at x50 an edit leaves 350 of 351), the
    longest first so that no long one is left to run alone at the end. ``finishing``: the
    last layouts of the edition (then, as when an eighth of the HTML or less is left to lay
    out, the rest cached, the work left is brief: see :func:`parallel`; measured in HTML,
    not in chapters, because a rehearsal can leave one chapter out of 352, the bibliography,
    which is a third of the work). ``meanwhile``: see :func:`press.workers.parallel`, given
    each layout's result or None while it is being laid out. ``first``: what this process
    does before it takes a layout (the workers start on theirs meanwhile)."""
    found = [_from_cache(layout.key()) for layout in layouts]
    missing = sorted((i for i, laid in enumerate(found) if laid is None),
                     key=lambda i: -len(layouts[i].page))  # fmt: skip
    left = sum(len(layouts[i].page) for i in missing)
    brief = finishing or 8 * left <= sum(len(layout.page) for layout in layouts)
    for css in dict.fromkeys(layouts[i].css for i in missing if layouts[i].css):
        _stylesheet(css, layouts[0].folder)  # here, before the workers fork: theirs from then
    calls = [(layouts[i],) for i in missing]
    counted = itertools.count(len(layouts) - len(missing) + 1)

    def one_more() -> None:  # the live display's "120 of 352 laid out", for the chapters
        tell(f"{next(counted)} of {len(layouts)} laid out")

    def so_far(results: dict[int, Laid]) -> Callable[[], object] | None:
        now = list(found)
        for k, laid in results.items():
            now[missing[k]] = laid
        return meanwhile(now) if meanwhile else None

    told = None if finishing else one_more
    laid_out = parallel(lay_out, calls, brief, told, so_far if meanwhile else None, first)
    for i, laid in zip(missing, laid_out, strict=True):
        found[i] = laid
    return [laid for laid in found if laid is not None]


def _layouts(
    parts: pdfparts.Split, folder: Path, options: dict[str, Any], reading: extract.Reading
) -> list[Layout]:
    """The front with placeholder page numbers (to learn its length), then each chapter."""
    placeholder = parts.front(dict.fromkeys(parts.toc_targets, 8888))
    layouts = [Layout(placeholder, folder, options, css=parts.front_css, write=False)]
    layouts += [Layout(part.html, folder, options, reading, parts.css)
                for part in parts.parts]  # fmt: skip
    return layouts


def _write_in_parts(
    parts: pdfparts.Split,
    folder: Path,
    options: dict[str, Any],
    reading: extract.Reading,
    target: Path,
    fonts: list[Path],
) -> str:
    """Chapters laid out in parallel, and with them the front with placeholder page numbers
    (its length); then the front with its numbers beside the sheets of running heads (again
    if the numbers changed the front's length), the chapters joined meanwhile in this
    process; then the front and the sheets joined to them.

    A long bibliography, the last chapter and the longest, is laid out by a worker at nice 5
    while this process and the other writers take the processor, and may end seconds after
    every other chapter (x50 distinct sources, cold: 7.8 s after). Meanwhile the front and
    the sheets before it are laid out aside, into the cache, where the last step finds them:
    after the bibliography only its own sheets are laid out (x50: 0.7 s instead of 3.2)."""
    from press.editions import pdfparts

    def ahead(found: list[Laid | None]) -> Callable[[], object] | None:
        """While the last chapter alone is still being laid out, the front's and the sheets'
        first try as far as they can be told without it."""
        guess, *chapters = found
        if guess is None or chapters[-1] is not None or any(c is None for c in chapters[:-1]):
            return None
        if not cache.active().enabled:
            return None
        layouts = _finishing(parts, folder, options, guess.pages, chapters)
        for css in (parts.front_css, parts.sheets_css):
            _stylesheet(css, folder)  # here: the finishing layouts will want them too
        return lambda: [lay_out(layout) for layout in layouts]

    guess, *chapters = _laid_out(_layouts(parts, folder, options, reading), meanwhile=ahead)
    _reported(dataclasses.replace(guess, warnings=[]))  # the final front says them
    chapters = [_reported(chapter) for chapter in chapters]
    front_pages = guess.pages
    # here, once, while the workers lay out the front and the sheets
    joined_chapters = once(lambda: pdfparts.body([c.pdf for c in chapters]))
    for _attempt in range(4):
        layouts = _finishing(parts, folder, options, front_pages, chapters)
        front, *furniture = map(_reported, _laid_out(layouts, True, first=joined_chapters))
        if front.pages == front_pages:
            break
        front_pages = front.pages
    joined = pdfparts.join(front.pdf, joined_chapters(), [f.pdf for f in furniture], fonts)
    for name in joined.unknown:  # what WeasyPrint says of such a link in one piece
        log.warning(warning("pdf edition", None, f"No anchor #{name} for internal URI reference",
                            "pdf.weasyprint"))  # fmt: skip
    target.write_bytes(joined.pdf)
    pages = [None] * front.pages + [page for chapter in chapters for page in chapter.text]
    extract.pdf_text(joined.pdf, reading, pages)  # what the parity check will read
    new = sum(not c.cached for c in chapters)
    shared = f" in {len(chapters)} parts" if len(chapters) < len(parts.chapters) else ""
    return (
        f"{len(pages)} pages, {len(parts.chapters)} chapters laid out in parallel{shared}"
        f" ({new} new, {len(chapters) - new} from the cache)"
    )


def _finishing(
    parts: pdfparts.Split,
    folder: Path,
    options: dict[str, Any],
    front_pages: int,
    chapters: Sequence[Laid | None],
) -> list[Layout]:
    """The front with the contents' page numbers, then the sheets of running heads, for a
    front of ``front_pages`` and ``chapters``. Without the last chapter (None: not laid out
    yet), what can be told before it: its contents entries taken to be on its first page,
    the runs of sheets before it (:func:`pdfparts.furniture`)."""
    from press.editions import pdfparts

    numbers: dict[str, int] = {}
    start = front_pages
    for chapter in chapters:
        if chapter is None:
            numbers = dict.fromkeys(parts.toc_targets, start + 1) | numbers
            break
        for name, page in chapter.anchors.items():
            numbers.setdefault(name, start + page + 1)
        start += chapter.pages
    sheets = pdfparts.furniture(parts, front_pages, _chapter_pages(parts, chapters))
    return [
        Layout(parts.front(numbers), folder, options, css=parts.front_css),  # not read
        *(Layout(run, folder, {}, css=parts.sheets_css) for run in sheets),
    ]


def _chapter_pages(parts: pdfparts.Split, laid: Sequence[Laid | None]) -> list[int | None]:
    """The pages of each chapter, from those of the parts (None: the part not laid out yet),
    each chapter after a part's first beginning on the page of its anchor."""
    counts: list[int | None] = []
    first = 0
    for part, result in zip(parts.parts, laid, strict=True):
        chapters = parts.chapters[first : first + part.chapters]
        first += part.chapters
        if result is None:
            counts += [None] * len(chapters)
            continue
        starts = [0, *(result.anchors[chapter.anchor] for chapter in chapters[1:])]
        counts += [end - start for start, end in itertools.pairwise([*starts, result.pages])]
    return counts


def _reported(laid: Laid) -> Laid:
    """Pass on the layout's warnings; refuse it if it tried to read outside the folder."""
    for message in laid.warnings:
        log.warning(warning("pdf edition", None, message, "pdf.weasyprint"))
    if laid.refused:
        raise BuildError(
            Problem(
                "pdf edition", None, f"refused to read {url}: outside the report folder",
                "asset.outside",
            )
            for url in laid.refused
        )  # fmt: skip
    return laid


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


def _for_print(node: pandoc.Node) -> pandoc.Node:
    """An element as the print page wants it (:func:`_breakable_url`, :func:`_note_in_place`),
    both in one walk of the document (at x50 each walk is 0.4 s)."""
    return _breakable_url(_note_in_place(node))


def _breakable_url(node: pandoc.Node) -> pandoc.Node:
    """A URL shown as link text may break after ``/`` and before ``?&=#``, not mid-word."""
    if node["t"] != "Link":
        return node
    shown = pandoc.stringify(node["c"][1])
    if shown != node["c"][2][0] or len(shown) < 30:
        return node
    text = re.sub(r"(?<=[/])(?=[^/])|(?=[?&=#])", "\u200b", shown)
    return {"t": "Link", "c": [node["c"][0], [{"t": "Str", "c": text}], node["c"][2]]}


def _text_of(page: str) -> str:
    """The characters a reader will see: the page's text, without markup, CSS or data URLs."""
    root = lxml.html.fromstring(page)
    for element in root.xpath("//style | //script | //head"):
        element.drop_tree()
    return root.text_content()


def _note_in_place(node: pandoc.Node) -> pandoc.Node:
    """A note as ``<span class="footnote">`` where it is called, for CSS ``float: footnote``."""
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


def local_fetcher(roots: tuple[Path, ...]) -> Any:
    """A WeasyPrint URL fetcher that reads ``data:`` URLs and files under ``roots`` only;
    what it refused in its ``refused``."""
    fetcher = _fetcher_class()(allowed_protocols=("file", "data"))
    fetcher.roots, fetcher.refused = roots, []
    return fetcher


@once
def _fetcher_class() -> type:
    """Made when first needed: WeasyPrint is imported by the writer, not with this module
    (:attr:`PdfEdition.libraries`)."""
    import weasyprint

    class LocalFetcher(weasyprint.URLFetcher):  # type: ignore[misc]
        roots: tuple[Path, ...]
        refused: list[str]

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

    return LocalFetcher
