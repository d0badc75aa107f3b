"""On which page each heading of the Word edition falls, from LibreOffice's layout, chapter by
chapter.

Every Heading 1 starts a page (the reference styles' page break), so a chapter's pages do not
depend on the chapters around it. LibreOffice lays out the whole document once; each
chapter's page count and the pages of its headings within it are then cached under a hash of
everything its layout reads: its XML, its footnotes and the number of the first, the
relationships it uses, the package's other parts (styles, page setup, header and footer,
fonts) and LibreOffice's version. After an edit only the chapters that changed are laid out
again, behind the title page, in one document per run of consecutive chapters (its footnotes
numbered from where they start in the whole document): at x50, 1 chapter of 351 instead of
550 pages. The front matter (title page and contents) is cached the same way; when it changed
(a heading renamed, added or removed changes the contents) it is laid out with the first
run of changed chapters, in the same document (alone if none changed), its contents' page
numbers as they are in the file (empty: LibreOffice shows them so, and they do
not change its length). A first build, or chapters changed in more than a few places, lay
out the whole document.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from lxml import etree

from press import cache
from press.extract import bookmarks
from press.office import to_pdfs, version

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
DOCUMENT, NOTES = "word/document.xml", "word/footnotes.xml"
RELS, NOTE_RELS = "word/_rels/document.xml.rels", "word/_rels/footnotes.xml.rels"
RUNS = 3
"""At most this many runs of changed chapters are laid out apart; more, the whole document."""

Mark = tuple[str, int]
"""A heading's title as LibreOffice bookmarks it, and its page."""


@dataclass(frozen=True)
class Layout:
    """A laid-out stretch of the document: its pages, and its headings' pages from its first."""

    pages: int
    marks: list[Mark]

    def encoded(self) -> bytes:
        return json.dumps({"pages": self.pages, "marks": self.marks}).encode()

    @classmethod
    def decoded(cls, data: bytes | None) -> Layout | None:
        if data is None:
            return None
        values = json.loads(data)
        marks = [(title, page) for title, page in values["marks"]]
        return cls(values["pages"], marks)


@dataclass(frozen=True)
class _Parts:
    """The document's body cut before each Heading 1: the front matter, then the chapters."""

    root: Any
    """The parsed ``word/document.xml``, whose body these are."""
    front: list[Any]
    chapters: list[list[Any]]
    first_notes: list[int]
    """The number of each chapter's first footnote in the whole document."""
    keys: list[str]
    """The front's cache key, then each chapter's."""


def heading_pages(data: bytes, headings: list[str], soffice: str) -> tuple[list[int | None], str]:
    """The page of each of ``headings`` (their texts, in document order) in the Word package
    ``data`` as LibreOffice lays it out, and a few words on how much of it it laid out now
    (which is also the check that an office suite reads it)."""
    store = cache.active()
    keys, (front, *known), runs, documents = _planned(data, version(soffice))
    if documents is not None:
        told = [] if front is not None else ["the title page and contents"]
        for run, pdf in zip(runs, to_pdfs(documents, soffice), strict=True):
            laid = _whole(_marks(pdf), len(run))
            if laid is None:
                break
            if front is None:  # the first document's, which has the contents
                front = laid[0]
                store.put("docx-layout", keys[0], front.encoded())
            for index, layout in zip(run, laid[1:], strict=True):
                known[index] = layout
                store.put("docx-layout", keys[index + 1], layout.encoded())
        else:
            pages = _matched(_joined(front, known), headings)  # type: ignore[arg-type]
            if not documents:
                return pages, "contents' page numbers from the cache"
            if done := sum(len(run) for run in runs):
                told.append(f"{done} of {len(known)} chapters")
            rest = "the others" if done else "the chapters"
            laid_out = " and ".join(told)
            return pages, f"checked by LibreOffice ({laid_out} laid out, {rest} from the cache)"
    marks = _marks(to_pdfs([data], soffice)[0])
    pages = _matched([(title, page) for title, page, _level in marks], headings)
    whole = _whole(marks, len(known))
    if whole is not None:
        for key, layout in zip(keys, whole, strict=True):
            store.put("docx-layout", key, layout.encoded())
    return pages, "checked by LibreOffice (whole document laid out)"


def _planned(
    data: bytes, version: str
) -> tuple[list[str], list[Layout | None], list[list[int]], list[bytes] | None]:
    """The cache keys of the front matter and each chapter and their layouts in the cache;
    the runs of chapters not in it, and the documents that lay them out, one per run (None:
    lay out the whole document); the front matter, if it is not in the cache, with the first
    run (a run of no chapters if none changed). Apart, so that the parsed document is freed
    before LibreOffice runs (x50: 100 MiB)."""
    package = zipfile.ZipFile(io.BytesIO(data))
    parts = _cut(package, version)
    laid = [Layout.decoded(cache.active().get("docx-layout", key)) for key in parts.keys]
    runs = _runs([i - 1 for i, layout in enumerate(laid) if i and layout is None])
    if len(runs) > RUNS or all(layout is None for layout in laid[1:]):
        return parts.keys, laid, runs, None
    new_front = laid[0] is None
    if new_front and not runs:
        runs = [[]]  # the front matter alone
    documents = [_partial(package, parts, run, new_front and not i) for i, run in enumerate(runs)]
    return parts.keys, laid, runs, documents


def _cut(package: zipfile.ZipFile, version: str) -> _Parts:
    root = etree.fromstring(package.read(DOCUMENT))
    body = root.find(f"{W}body")
    rels = _relationships(package, RELS)
    notes = _notes(package, _relationships(package, NOTE_RELS))
    common = hashlib.sha256(version.encode())
    for name in sorted(package.namelist()):
        if name not in (DOCUMENT, NOTES, RELS, NOTE_RELS) and not name.startswith("docProps/"):
            common.update(name.encode() + hashlib.sha256(package.read(name)).digest())
    section = body.find(f"{W}sectPr")
    common.update(etree.tostring(section) if section is not None else b"")
    front: list[Any] = []
    chapters: list[list[Any]] = []
    for element in body:
        if element.tag == f"{W}sectPr":
            continue
        if _is_chapter_heading(element):
            carried = []  # a bookmark pandoc put just before the heading belongs with it
            current = chapters[-1] if chapters else front
            while current and current[-1].tag == f"{W}bookmarkStart":
                carried.insert(0, current.pop())
            chapters.append(carried)
        (chapters[-1] if chapters else front).append(element)
    keys, first_notes, count = [], [], 0
    for index, elements in enumerate([front, *chapters]):
        if index:
            first_notes.append(count + 1)
        used = [e for element in elements for e in element.iter(f"{W}footnoteReference")]
        count += len(used)
        digest = hashlib.sha256(common.digest())
        digest.update(str(first_notes[-1] if index else 0).encode())
        for element in elements:
            digest.update(_stable(element, rels))
        for reference in used:
            digest.update(notes.get(reference.get(f"{W}id", ""), b""))
        keys.append(
            cache.key("docx-layout", "front" if index == 0 else "chapter", digest.hexdigest())
        )
    return _Parts(root, front, chapters, first_notes, keys)


def _is_chapter_heading(element: Any) -> bool:
    style = element.find(f"{W}pPr/{W}pStyle")
    return element.tag == f"{W}p" and style is not None and style.get(f"{W}val") == "Heading1"


def _notes(package: zipfile.ZipFile, rels: dict[str, str]) -> dict[str, bytes]:
    if NOTES not in package.namelist():
        return {}
    root = etree.fromstring(package.read(NOTES))
    return {note.get(f"{W}id"): _stable(note, rels) for note in root.iter(f"{W}footnote")}


def _relationships(package: zipfile.ZipFile, name: str) -> dict[str, str]:
    """What each relationship of the part whose relationships are ``name`` points at (the
    parts themselves, a picture's bytes, are in every key already)."""
    if name not in package.namelist():
        return {}
    rels = etree.fromstring(package.read(name))
    return {rel.get("Id", ""): f"{rel.get('Type')} {rel.get('Target')}" for rel in rels}


_NAMED = re.compile(rb"<w:(?:bookmarkStart|bookmarkEnd|hyperlink)\s[^>]*>")
_NAMES = re.compile(rb'(\s(?:w:id|w:name|w:anchor)=)"[^"]*"')
_RELATIONSHIP = re.compile(rb'(\sr:[a-zA-Z]+=)"([^"]*)"')
"""A relationship's id (pandoc and python-docx prefix their namespace ``r``)."""


def _stable(element: Any, rels: dict[str, str]) -> bytes:
    """``element`` for a key: without what pandoc numbers or names through the whole
    document and the layout does not read (a bookmark's number and name, a link's anchor),
    each relationship's id replaced by what it points at, so that a heading or a link added
    in one chapter, or a heading renamed that later chapters' headings share (pandoc's ids
    ``background``, ``background-1``, ...), leaves the others' keys as they were."""
    xml = _NAMED.sub(lambda tag: _NAMES.sub(rb'\1""', tag[0]), etree.tostring(element))
    return _RELATIONSHIP.sub(
        lambda rel: rel[1] + json.dumps(rels.get(rel[2].decode(), "")).encode(), xml
    )


def _runs(indexes: list[int]) -> list[list[int]]:
    """``indexes`` in runs of consecutive numbers."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _partial(
    package: zipfile.ZipFile, parts: _Parts, run: list[int], contents: bool = False
) -> bytes:
    """The document with only the chapters of ``run``, behind the front matter, with its
    contents or without (their links lead nowhere here, which does not change the layout),
    footnotes numbered as in the whole. It rearranges the parsed document
    (:attr:`_Parts.root`) to write it: one at a time."""
    front = [e for e in parts.front if contents or e.tag != f"{W}sdt"]
    before = sum(1 for element in front for _ in element.iter(f"{W}footnoteReference"))
    body = parts.root.find(f"{W}body")
    section = body.find(f"{W}sectPr")
    for element in list(body):
        body.remove(element)
    for element in front + [e for index in run for e in parts.chapters[index]]:
        body.append(element)
    if section is not None:
        _number_notes_from(section, parts.first_notes[run[0]] - before if run else 1)
        body.append(section)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:  # stored: it is read once, at once
        for name in package.namelist():
            if name == DOCUMENT:
                target.writestr(
                    name, etree.tostring(parts.root, xml_declaration=True, standalone=True)
                )
            else:
                target.writestr(name, package.read(name))
    return out.getvalue()


def _number_notes_from(section: Any, start: int) -> None:
    properties = section.find(f"{W}footnotePr")
    if properties is None:
        properties = etree.Element(f"{W}footnotePr")
        after = [e for e in section if e.tag in (f"{W}headerReference", f"{W}footerReference")]
        if after:
            after[-1].addnext(properties)
        else:
            section.insert(0, properties)
    for old in properties.findall(f"{W}numStart"):
        properties.remove(old)
    number = etree.SubElement(properties, f"{W}numStart")
    number.set(f"{W}val", str(start))


def _marks(pdf: bytes) -> list[tuple[str, int, int]]:
    """Each bookmark of LibreOffice's PDF: its title, page (from 1) and level (0 for a
    Heading 1); and, last, the page count as a mark titled ''."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        found = [(" ".join(title.split()), page + 1, level)
                 for title, page, level in bookmarks(document) if page is not None]  # fmt: skip
        return [*found, ("", len(document) + 1, -1)]
    finally:
        document.close()


def _whole(marks: list[tuple[str, int, int]], chapters: int) -> list[Layout] | None:
    """The front matter's and each chapter's layout in the marks of the whole document or of
    a partial one (:func:`_partial`), if they show where each chapter starts."""
    starts = [i for i, (_title, _page, level) in enumerate(marks) if level == 0]
    if len(starts) != chapters:
        return None
    end = starts[0] if starts else len(marks) - 1  # the first chapter, or the page count
    front = [(title, page - 1) for title, page, _level in marks[:end]]
    layouts = [Layout(marks[end][1] - 1, front)]
    for begin, end in zip(starts, [*starts, len(marks) - 1][1:], strict=True):
        first = marks[begin][1]
        section = [(title, page - first) for title, page, _level in marks[begin:end]]
        layouts.append(Layout(marks[end][1] - first, section))
    return layouts


def _joined(front: Layout, chapters: list[Layout]) -> list[Mark]:
    """The whole document's marks from its parts' layouts."""
    marks = [(title, 1 + offset) for title, offset in front.marks]
    page = 1 + front.pages
    for layout in chapters:
        marks += [(title, page + offset) for title, offset in layout.marks]
        page += layout.pages
    return marks


def _matched(marks: list[Mark], headings: list[str]) -> list[int | None]:
    """The page of each heading, found in order among the marks (None if LibreOffice did
    not bookmark it)."""
    pages: list[int | None] = []
    at = 0
    for heading in headings:
        wanted = " ".join(heading.split())
        found = next((i for i in range(at, len(marks)) if marks[i][0] == wanted), None)
        pages.append(marks[found][1] if found is not None else None)
        at = found + 1 if found is not None else at
    return pages
