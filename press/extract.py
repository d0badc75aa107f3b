"""What a reader sees in each edition, as text: headings, paragraphs, notes, bibliography.

Used to prove that the editions agree. HTML is read with lxml, DOCX with
python-docx (footnotes from their own part), PDF with PDFium (ten times faster than
pypdf here): running heads and page numbers are left out by position, footnotes told apart by
their size, and the cover and contents by where the print page's <main> begins.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lxml import etree, html

from press import cache

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from press.config import Config
    from press.design import Design

_BODY_STYLES_NOT = (
    "Heading", "Title", "Subtitle", "Author", "Date", "Organisation", "Abstract", "Bibliography",
    "TOC", "toc",
)  # fmt: skip
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
REPORT_START = "_report"
"""The id of the print page's ``<main>``: the PDF is read from there (pandoc's ids never
start with an underscore)."""


@dataclass
class EditionText:
    headings: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    under: list[str] = field(default_factory=list)
    """For each paragraph, the heading it falls under ("" before the first)."""
    footnotes: list[str] = field(default_factory=list)
    bibliography: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    images: int = 0
    citations: list[str] = field(default_factory=list)
    """In-text citations, where the edition marks them (HTML only)."""
    note_pages: list[NotePage] = field(default_factory=list)
    """Per page of the PDF edition: where its footnotes are called and printed."""
    body: str = ""
    """All text of the report's body (headings, paragraphs, notes), for containment checks."""


def clean(text: str) -> str:
    """Collapse white space, as a reader would not see it."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).replace("\u00ad", "")).strip()


def squash(text: str) -> str:
    """A form that survives line breaking and hyphenation: no spaces, no hyphens."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").replace("\u200b", "")
    return re.sub(r"[\s\-\u2010\u2011]+", "", text)


def missing_in_order(needles: list[str], *haystack: str) -> list[int]:
    """Indices of the needles not found in the ``haystack`` texts (read one after the other)
    one after the other, ignoring the line breaks, hyphens and spaces that layout adds
    (empty when all are there in order)."""
    missing, at = [], 0
    flat = "".join(map(_squashed, haystack))
    for index, needle in enumerate(needles):
        key = squash(needle)
        found = flat.find(key, at)
        if found < 0:
            missing.append(index)
        else:
            at = found + len(key)
    return missing


@functools.lru_cache(maxsize=4)
def _squashed(text: str) -> str:
    """:func:`squash` of a text looked in more than once: the parity check looks for four
    kinds of text in the PDF edition's (x50: 1.2 MB, 0.04 s each time; the check 0.34 ->
    0.21 s)."""
    return squash(text)


def without_label(entry: str) -> str:
    """A bibliography entry without its number (``[1]``, ``1.``): the PDF draws labels apart."""
    return re.sub(r"^(\[\d+\]|\d+\.)\s*", "", entry)


def from_html(path: Path) -> EditionText:
    return html_text(path.read_bytes())


def from_docx(path: Path) -> EditionText:
    return docx_text(path.read_bytes())


def html_text(data: bytes) -> EditionText:
    """The text of the HTML edition ``data``, remembered like :func:`docx_text`."""
    return _remembered("html-text", data, _read_html)


def docx_text(data: bytes) -> EditionText:
    """The text of the Word edition ``data``. Read once per content and kept in the build
    cache under its hash: each writer reads its edition as it writes it, in its own
    process, and the check that follows the writers finds it there (python-docx's import
    and the reading had been 0.15 s of the seed's build after its slowest writer; at x50 the
    check 2.8 -> 0.8 s, the build's peak 677 -> 684 MiB)."""
    return _remembered("docx-text", data, _read_docx)


def _remembered(
    kind: str, data: bytes, read: Callable[[bytes], EditionText], *how: Any
) -> EditionText:
    """What ``read(data)`` gave, from the cache if it was kept there (:func:`_kept`)."""
    hit = cache.active().get(kind, _text_key(kind, data, *how))
    if hit is not None:
        return _text_from_json(hit)
    return _kept(kind, data, read(data), *how)


def _kept(kind: str, data: bytes, text: EditionText, *how: Any) -> EditionText:
    """``text``, the reading of ``data``, kept in the build cache under the data's hash."""
    payload = json.dumps(dataclasses.asdict(text)).encode()
    cache.active().put(kind, _text_key(kind, data, *how), payload)
    return text


def _text_key(kind: str, data: bytes, *how: Any) -> str:
    return cache.key(kind, hashlib.sha256(data).hexdigest(), *how)


def _read_html(data: bytes) -> EditionText:
    root = html.parse(io.BytesIO(data)).getroot()
    main = root.find(".//main")
    assert main is not None, "no <main> in the HTML edition"
    dropped = "@class='cited-from' or @class='cite-tip'"
    for ref in main.xpath(f".//a[contains(@class, 'footnote-ref')] | .//*[{dropped}]"):
        ref.drop_tree()
    out = EditionText()
    excluded = "ancestor::*[@id='refs' or @id='footnotes' or contains(@class, 'footnotes')]"
    blocks = "self::h1 or self::h2 or self::h3 or self::h4 or self::p or self::li[not(p)]"
    for el in main.xpath(f".//*[{blocks}][not({excluded})]"):
        text = clean(el.text_content())
        if not text:
            continue  # e.g. a paragraph that was only a note-style citation
        if el.tag in ("p", "li"):
            out.paragraphs.append(text)
            out.under.append(out.headings[-1] if out.headings else "")
        else:
            out.headings.append(text)
    for li in main.xpath(".//*[contains(@class, 'footnotes')]//li"):
        for back in li.xpath(".//a[contains(@class, 'footnote-back')]"):
            back.drop_tree()
        out.footnotes.append(clean(li.text_content()))
    entries = [clean(e.text_content()) for e in main.xpath(".//*[@id='refs']/*")]
    out.bibliography = [e for e in entries if e]
    out.captions = [clean(c.text_content()) for c in main.xpath(".//figcaption | .//caption")]
    out.images = len(main.xpath(".//img"))
    out.citations = [clean(c.text_content()) for c in main.xpath(".//span[@class='citation']")]
    out.body = " ".join(out.headings + out.paragraphs + out.footnotes)
    return out


def _read_docx(data: bytes) -> EditionText:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document(io.BytesIO(data))
    out = EditionText()
    # Each paragraph's style by its id, as python-docx finds it (an unknown id: the default),
    # the styles looked up once: a lookup for each paragraph was 0.5 s of the x50 check.
    kind = WD_STYLE_TYPE.PARAGRAPH
    names = {style.style_id: style.name for style in document.styles if style.type == kind}
    default = document.styles.default(kind)
    fallback = default.name if default is not None else ""
    for paragraph in document.element.body.iterchildren(f"{_W}p"):  # document.paragraphs
        style = names.get(_STYLE_ID(paragraph), fallback) or ""
        text = clean(_paragraph_text(paragraph))
        if not text:
            continue
        if style.startswith("Heading"):
            out.headings.append(text)
        elif style in ("Image Caption", "Table Caption", "Caption"):
            out.captions.append(text)
        elif style == "Bibliography":
            out.bibliography.append(text)
        elif not style.startswith(_BODY_STYLES_NOT):
            out.paragraphs.append(text)
            out.under.append(out.headings[-1] if out.headings else "")
    out.images = len(document.inline_shapes)
    for part in document.part.package.iter_parts():
        if str(part.partname) == "/word/footnotes.xml":
            root = etree.fromstring(part.blob)
            for note in root.iter(f"{_W}footnote"):
                if note.get(f"{_W}type") in ("separator", "continuationSeparator"):
                    continue
                text = clean("".join(t.text or "" for t in note.iter(f"{_W}t")))
                if text:
                    out.footnotes.append(text)
    out.body = " ".join(out.headings + out.paragraphs + out.footnotes)
    return out


_RUN_TEXT = etree.XPath(
    " | ".join(
        f"{run}/w:{part}"
        for run in ("w:r", "w:hyperlink/w:r")
        for part in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab")
    ),
    namespaces={"w": _W[1:-1]},
)
_STYLE_ID = etree.XPath("string(w:pPr/w:pStyle/@w:val)", namespaces={"w": _W[1:-1]})
_AS_TEXT = {f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-", f"{_W}ptab": "\t", f"{_W}tab": "\t"}


def _paragraph_text(p: etree._Element) -> str:
    """A paragraph's text as python-docx's ``Paragraph.text`` gives it, by one XPath: its
    own took 0.6 s of the x50 Word edition's 0.7 s reading (an XPath for each run)."""
    parts = []
    for element in _RUN_TEXT(p):
        tag = element.tag
        if tag == f"{_W}t":
            parts.append(element.text or "")
        elif tag == f"{_W}br":
            parts.append("\n" if element.get(f"{_W}type", "textWrapping") == "textWrapping" else "")
        else:
            parts.append(_AS_TEXT[tag])
    return "".join(parts)


class Reading(NamedTuple):
    """How the PDF edition is read."""

    footnote_size: float
    """Points: tells footnote text from body text."""
    margins_pt: tuple[float, float]
    """Top and bottom margins (points): where running heads and page numbers stand."""


def print_reading(config: Config, design: Design) -> Reading:
    """The footnote size, and the margins where running heads and page numbers stand: one
    answer for the PDF writer (which reads its chapters as it lays them out) and the check
    (which finds that reading in the cache under the same values)."""
    return Reading(design.sizes["footnote"], config.page.top_bottom_pt)


def from_pdf(path: Path, reading: Reading) -> EditionText:
    """Text of the PDF edition after its cover and contents.

    Read once per file content: the result is kept in the build cache under the file's
    hash (the chapter-parallel PDF writer stores it there from its chapters).
    """
    return _remembered("pdf-text", path.read_bytes(), lambda d: _read_pdf(d, reading), *reading)


def pdf_text(
    data: bytes, reading: Reading, pages: Sequence[PdfPage | None] | None = None
) -> EditionText:
    """The text of the PDF ``data`` after its cover and contents, remembered for
    :func:`from_pdf`. ``pages``: each page's text, when it was read already (the PDF
    writer reads each chapter as it is laid out, not its front: at x50 the contents' dots
    took 1.3 s to read); else, or if a page from the first after the contents is not
    among them, the PDF is read here."""
    return _kept("pdf-text", data, _read_pdf(data, reading, pages), *reading)


def _read_pdf(
    data: bytes, reading: Reading, pages: Sequence[PdfPage | None] | None = None
) -> EditionText:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        marks = bookmarks(document)
        first = _first_page(document, marks)
        known = pages[first:] if pages is not None else []
        read = [page for page in known if page is not None]
        if pages is None or len(read) < len(known):
            read = _read_pages(document, reading)[first:]
    finally:
        document.close()
    out = EditionText(headings=[clean(title) for title, _page, _level in marks])
    out.body = "\n".join(page.body for page in read)
    notes = "\n".join(page.notes for page in read if page.notes)
    out.footnotes = [notes] if notes else []
    out.note_pages = [NotePage(page.calls, page.markers) for page in read]
    out.images = len({image for page in read for image in page.images})
    return out


Bookmark = tuple[str, int | None, int]
"""A bookmark's title, the page it opens (from 0) and its level (0 at the top)."""


def bookmarks(document: Any) -> list[Bookmark]:
    """Each bookmark of a PDFium document, in order."""
    marks = []
    for item in document.get_toc():
        dest = item.get_dest()
        page = dest.get_index() if dest is not None else None
        marks.append((item.get_title(), page, item.level))
    return marks


def _text_from_json(data: bytes) -> EditionText:
    values = json.loads(data)
    values["note_pages"] = [NotePage(**p) for p in values["note_pages"]]
    return EditionText(**values)


@dataclass
class PdfPage:
    """What one PDF page holds, sorted by :class:`_PageReader`."""

    body: str
    notes: str
    calls: list[int]
    markers: list[int]
    images: list[str]
    """Hashes of the images the page draws."""


def read_pages(data: bytes, reading: Reading) -> list[PdfPage]:
    """Every page's text, read with PDFium."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return _read_pages(document, reading)
    finally:
        document.close()


def _read_pages(document: Any, reading: Reading) -> list[PdfPage]:
    """Text object by text object (as WeasyPrint drew them), not descending into form
    XObjects: running heads drawn over a page are not its text."""
    import pypdfium2.raw as raw

    pages = []
    for page in document:
        sorter = _PageReader(page.get_height(), reading)
        textpage = page.get_textpage()
        images = []
        for obj in page.get_objects([raw.FPDF_PAGEOBJ_TEXT, raw.FPDF_PAGEOBJ_IMAGE],
                                    max_depth=1, textpage=textpage):  # fmt: skip
            if obj.type == raw.FPDF_PAGEOBJ_IMAGE:
                images.append(hashlib.sha256(obj.get_data(decode_simple=False)).hexdigest())
                continue
            matrix = obj.get_matrix()
            text = obj.extract().replace("\x02", "-")  # PDFium marks a line-end hyphen so
            sorter.visit(text, matrix.f, obj.get_font_size() * abs(matrix.d))
        pages.append(PdfPage("".join(sorter.body).strip(), "".join(sorter.notes).strip(),
                             sorter.calls, sorter.markers, images))  # fmt: skip
        textpage.close()
        page.close()
    return pages


def _first_page(document: Any, marks: list[Bookmark]) -> int:
    """Where the report begins: the print page's ``<main id="_report">``, else (a report's own
    template without it) the first bookmark, else the first page."""
    import pypdfium2.raw as raw

    body = raw.FPDF_GetNamedDestByName(document, REPORT_START.encode())
    if body:
        return int(raw.FPDFDest_GetDestPageIndex(document, body))
    page = marks[0][1] if marks else None
    return page if page is not None else 0


@dataclass
class NotePage:
    """One PDF page's footnote calls (in the text) and footnote numbers (at its foot)."""

    calls: list[int]
    markers: list[int]


class _PageReader:
    """Sorts one page's text runs into body, footnotes, footnote calls and markers."""

    def __init__(self, height: float, reading: Reading) -> None:
        self.top, self.bottom = height - reading.margins_pt[0], reading.margins_pt[1]
        self.footnote_size = reading.footnote_size
        self.body: list[str] = []
        self.notes: list[str] = []
        self.calls: list[int] = []
        self.markers: list[int] = []
        self.line: float | None = None

    def visit(self, text: str, baseline: float, points: float) -> None:
        """A run of ``text`` at ``baseline`` (points from the foot), ``points`` high."""
        if not text or not (self.bottom < baseline < self.top):
            return  # running head or page number
        if self.line is not None and abs(baseline - self.line) > points / 2:
            text = "\n" + text  # a new line
        self.line = baseline
        if points < self.footnote_size - 0.2 and text.strip().isdigit():
            self.calls.append(int(text))  # a footnote call: its note is read at the foot
        elif abs(points - self.footnote_size) < 0.2:
            marker = re.fullmatch(r"(\d+)\.\s*", text.strip())
            if marker:
                self.markers.append(int(marker.group(1)))
            self.notes.append(text)
        else:
            self.body.append(text)
