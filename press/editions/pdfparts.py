"""Chapter-parallel PDF: the print page cut into parts laid out apart, then joined.

:func:`split` cuts the print page into a front part (everything before ``<main>``:
cover and contents) and one part per top-level section (or, in a long report, per few short
ones one after another), each a whole HTML page with the same head, so the parts can be
laid out in parallel and each cached on its own.
Links between parts are written as ``press-xref:`` links (WeasyPrint would drop a
link to an anchor it cannot see); the contents' page numbers are written into the front
(where the report's stylesheet asks for ``target-counter(attr(href), page)`` it gets them
from there, styled as it says); the footnote counter of each part starts where the
previous part's notes end. Running heads and page numbers are left out of the parts:
:func:`furniture` writes a page of empty sheets that carry only them, laid out with
the same ``@page`` rules, and :func:`join` draws each sheet over its page as a
pagination artifact, so page numbers run on across the parts however long each is.

:func:`body` puts the chapters together with pikepdf, while the front and the sheets are
laid out, and :func:`join` the front before them: pages, tag trees (their parent tree keys
renumbered), named destinations, bookmarks, and the cross-part links, which become links to
named destinations.

Used only when every chapter begins a new page (``h1 { break-before: page }``);
otherwise the PDF is laid out in one piece.
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
import pikepdf
import tinycss2
import uharfbuzz as hb
from lxml import etree

from press.extract import REPORT_START

XREF = "press-xref:"
MARGIN_BOXES = (
    "top-left-corner", "top-left", "top-center", "top-right", "top-right-corner",
    "right-top", "right-middle", "right-bottom", "bottom-right-corner", "bottom-right",
    "bottom-center", "bottom-left", "bottom-left-corner", "left-bottom", "left-middle", "left-top",
)  # fmt: skip
NO_FURNITURE = (
    "@page { " + " ".join(f"@{box} {{ content: none !important; }}" for box in MARGIN_BOXES) + " }"
)
"""Margin boxes left empty: for the parts of a page that links a stylesheet (whose margin
boxes :func:`without_margin_boxes` cannot take out)."""
GROUPING_RULES = ("media", "supports", "layer", "container")
PAGE_OF_LINK = re.compile(
    r"target-counter\(\s*attr\(\s*href(?:\s+url)?\s*\)\s*,\s*page\s*(?:,[^()]*)?\)"
)
"""How a print stylesheet shows the page a link leads to (the contents' page numbers)."""
Names = list[tuple[pikepdf.String, pikepdf.Array]]
"""Named destinations: each name and where it leads."""
SHEETS_ONLY = (
    "@page { background: none !important; border: none !important; }"
    " html, body { background: none !important; margin: 0 !important; padding: 0 !important; }"
)


@dataclass(frozen=True)
class Chapter:
    title: str
    """Its running head: the text of its first ``h1`` ("" for text before the first)."""
    anchor: str
    """The id of the element it begins with ("" for none)."""


@dataclass(frozen=True)
class Part:
    """What is laid out as one HTML page: a chapter, or short chapters one after another."""

    html: str
    chapters: int
    """How many chapters it holds (from where the part before it ends)."""


@dataclass(frozen=True)
class Split:
    chapters: list[Chapter]
    parts: list[Part]
    css: str
    """The chapters' stylesheet. Each part's stylesheet is left out of its HTML: parsed
    once per process, with the fonts it loads, and in the processes forked after that not
    at all (the sheets, parsed each time, took 0.4 s of the embedded report's 1.3)."""
    front_css: str
    front: Callable[[dict[str, int]], str]
    """The front part's HTML, given the page number of each anchor its contents list."""
    title: str
    """The cover's title (the running head's left half)."""
    cover: bool
    sheets_css: str
    sheets_head: str
    """``<head>`` of the page without its stylesheet (``sheets_css``), for the sheets that
    carry running heads and page numbers."""
    toc_targets: list[str]
    """The anchors the contents link to."""
    lang: str


PART = 24_000
"""Bytes of HTML up to which a long report's short chapters share a part (see :func:`split`)."""


def split(page: str, part_size: int = 0) -> Split | None:
    """The print page in parts, or None when chapters do not each begin a new page (or
    there is only one). With ``part_size``, chapters one after another share a part up to
    that many bytes of HTML: a layout costs WeasyPrint about 11 ms however short (its HTML
    parsed, its styles computed, a PDF written, read and joined), and the x50 report's 350
    chapters are of 1-6 KB. In 60 parts of up to 24 KB its cold build took 31.8 s instead
    of 34.6, the PDF edition 26.9 instead of 29.4 (medians of 3 alternating builds), the
    peak 682 MiB instead of 663. Not the last chapter (what follows the report is laid out
    with it) nor the bibliography (laid out in pieces) share a part, nor a chapter that does
    not begin with an element with an id (where it begins is read from its anchor). For
    long reports only: an edit lays out its part again, not its chapter alone."""
    root = lxml.html.document_fromstring(page)
    body = root.find("body")
    main = body.find("main") if body is not None else None
    if body is None or main is None or not chapters_break(_css_of(root)):
        return None
    groups: list[list[etree._Element]] = []
    for child in main:
        if not groups or (child.tag == "section" and "level1" in child.classes):
            groups.append([])
        groups[-1].append(child)
    if len(groups) < 2:
        return None
    children = list(body)
    before = children[: children.index(main)]
    after = children[children.index(main) + 1 :]
    groups[-1] += after
    for element in children:
        body.remove(element)
    for element in list(main):
        main.remove(element)
    for part in [before, *groups]:
        _mark_outside_links(part)
    head = root.find("head")
    styles = list(head.iter("style"))
    for style in styles:
        head.remove(style)
    page_css = "\n".join(style.text or "" for style in styles)
    css = without_margin_boxes(page_css)
    if root.xpath("//link[@rel='stylesheet'] | //body//style"):
        css += f"\n{NO_FURNITURE}"
    chapters = [
        Chapter(_first_heading([e for e in group if e not in after]), _anchor(group))
        for group in groups
    ]
    parts, notes = [], 0
    for members in _parted(groups, chapters, part_size):
        inside = [e for i in members for e in groups[i] if e not in after]
        if notes:
            main.set("style", f"counter-reset: footnote {notes}")
        main.extend(inside)
        body.append(main)
        body.extend(after if members[-1] == len(groups) - 1 else [])
        parts.append(Part(_html(root), len(members)))
        if main.get("id") == REPORT_START:
            del main.attrib["id"]  # the first part's alone: one anchor, one place
        for element in list(body):
            body.remove(element)
        for element in inside:
            main.remove(element)
        main.attrib.pop("style", None)
        notes += sum(len(e.find_class("footnote")) for e in inside)
    titles = [t.text_content().strip() for e in before for t in e.find_class("title")]
    front, targets = _front_page(root, before)
    return Split(
        chapters=chapters,
        parts=parts,
        css=css,
        front_css=PAGE_OF_LINK.sub("attr(data-page)", css),  # numbers in
        front=front,
        toc_targets=targets,
        title=titles[0] if titles else "",
        cover=bool(before) and "cover" in before[0].classes,
        sheets_css=f"{page_css}\n{SHEETS_ONLY}",
        sheets_head=lxml.html.tostring(head, encoding="unicode"),
        lang=root.get("lang", ""),
    )


def without_margin_boxes(css: str) -> str:
    """``css`` without the margin boxes of its ``@page`` rules (inside ``@media`` and the like
    too): the parts draw no running heads, the sheets do. WeasyPrint then gives each page's
    margin boxes one shared anonymous style, instead of computing, for every page, a style for
    each margin box a rule reaches (as it did with :data:`NO_FURNITURE` after the rules):
    the x50 chapters' layout 3-6% shorter, the same bytes."""

    def rules(nodes: list[Any]) -> str:
        out = []
        for node in nodes:
            if node.type == "at-rule" and node.content is not None:
                if node.lower_at_keyword == "page":
                    inside = tinycss2.serialize(_dropped(node.content))
                elif node.lower_at_keyword in GROUPING_RULES:
                    inside = rules(tinycss2.parse_rule_list(node.content))
                else:
                    out.append(node.serialize())
                    continue
                out.append(f"@{node.at_keyword}{tinycss2.serialize(node.prelude)}{{{inside}}}")
            else:
                out.append(node.serialize())
        return "".join(out)

    return rules(tinycss2.parse_stylesheet(css))


def _dropped(tokens: list[Any]) -> list[Any]:
    """The content of an ``@page`` rule without its margin boxes' rules."""
    kept, dropping = [], False
    for token in tokens:
        if token.type == "at-keyword" and token.lower_value in MARGIN_BOXES:
            dropping = True
        elif not dropping:
            kept.append(token)
        elif token.type == "{} block":
            dropping = False
    return kept


def chapters_break(css: str) -> bool:
    """Whether the last rule for ``h1`` (or a top-level section) breaks the page before it."""
    value = None
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        if rule.type != "qualified-rule":
            continue
        if not re.search(r"(^|[\s,>+~])h1\b|\.level1\b", tinycss2.serialize(rule.prelude)):
            continue
        for declaration in tinycss2.parse_declaration_list(
            rule.content, skip_comments=True, skip_whitespace=True
        ):
            if declaration.type == "declaration" and declaration.lower_name in (
                "break-before",
                "page-break-before",
            ):
                value = tinycss2.serialize(declaration.value).strip().lower()
    return value in ("page", "always")


SHEETS_PER_RUN = 100
"""How many sheets at most are laid out in one run: more are laid out in runs side by side
with each other and the contents (x50: 592 sheets took 5 s in one run, the longest task at
the end of a build; in two halves of 1.7 s beside the contents' 1.9 s, one process still
worked alone for 1.5 s at the end; in four runs the work is shared out more evenly; in
seven of about 0.45 s, beside the contents (2.2 s) and the chapters' join (1 s), what
follows the chapters took 4.24-4.32 s instead of 4.46-4.60 with five, two builds each)."""
NUMBERED_TOGETHER = re.compile(r":first\b|:nth\(|counters?\(\s*pages\b")
"""What a stylesheet's page rules may use that a run of the sheets would get wrong: the first
page, a page's place, the number of pages."""


def furniture(split: Split, front_pages: int, chapter_pages: list[int | None]) -> list[str]:
    """Pages of empty sheets, one sheet per page of the joined PDF, carrying its running head:
    one page, or runs of at most about :data:`SHEETS_PER_RUN` when the sheets' stylesheet
    numbers pages by the page counter alone. Each run after the first begins on a right page
    (an odd page number), its page counter reset there, its strings set again. When there
    are more sheets than a run before the last chapter, a run begins where it does (or on
    the page after, a right page), so that those before it can be laid out while the last
    chapter, a long bibliography, still is: with the last chapter's count None (not known
    yet), only those runs."""
    last = chapter_pages[-1]
    known = last is not None
    counts = [*chapter_pages[:-1], 1 if last is None else last]  # its first sheet: its title
    sheets: list[tuple[str, str | None]] = [("", None)] * front_pages  # named page, chapter
    for chapter, count in zip(split.chapters, counts, strict=True):
        sheets += [("", chapter.title)] * count
    if sheets and split.cover:
        sheets[0] = ("page: cover;", None)
    tail = len(sheets) - counts[-1]
    tail += tail % 2
    if NUMBERED_TOGETHER.search(split.sheets_css):
        cuts = [0, len(sheets)] if known else []
    elif tail > SHEETS_PER_RUN:
        cuts = _even_cuts(0, tail) + (_even_cuts(tail, len(sheets)) if known else [])
    else:
        cuts = _even_cuts(0, len(sheets)) if known else []
    pages = []
    for start, end in itertools.pairwise(sorted(set(cuts))):
        styles = []
        for index in range(start, end):
            named, title = sheets[index]
            strings = "" if title is None else f"chapter {_css_string(title)}"
            if index == start:  # what the sheets before it set
                chapter = _css_string(title or "")
                strings = f"report-title {_css_string(split.title)}, chapter {chapter}"
            breaks = "break-before: page; " if index > start else ""
            styles.append(f"{breaks}{named}string-set: {strings}" if strings else breaks + named)
        divs = "".join(f'<div style="{html.escape(style)}"></div>' for style in styles)
        head = split.sheets_head
        if start:
            reset = f"<style>@page :first {{ counter-reset: page {start + 1} }}</style>"
            head = head.replace("</head>", reset + "</head>", 1)
        pages.append(f'<!DOCTYPE html><html lang="{split.lang}">{head}<body>{divs}</body></html>')
    return pages


def _even_cuts(start: int, end: int) -> list[int]:
    """``start`` (even), ``end`` and the even places between that cut the sheets from one to
    the other into runs of about equal length, at most :data:`SHEETS_PER_RUN` (or so) each."""
    runs = max(1, math.ceil((end - start) / SHEETS_PER_RUN))
    return [start + 2 * round(i * (end - start) / runs / 2) for i in range(runs)] + [end]


@dataclass(frozen=True)
class Joined:
    pdf: bytes
    unknown: list[str]
    """Anchors that links point to and no part has (those links are left inert)."""


@dataclass
class Body:
    """The chapters joined (:func:`body`), waiting for the front and the sheets (:func:`join`)."""

    pdf: pikepdf.Pdf
    names: Names
    items: list[pikepdf.OutlineItem]
    """The bookmarks of the chapters after the first (the first's are in ``pdf``), to
    pages numbered from the body's first."""
    next_key: int
    """The first key of the tag tree's parent tree that no chapter uses."""


def body(chapters: list[bytes]) -> Body:
    """The chapters one after the other: the half of :func:`join` that needs neither the
    front nor the sheets, done while they are laid out (x50: 0.9 s of its 2)."""
    return Body(*_appended(chapters[0], chapters[1:]))


def join(front: bytes, body: Body, sheets: list[bytes], fonts: list[Path]) -> Joined:
    """One PDF from the front part, the chapters' :func:`body` (which it takes over) and the
    sheets of running heads (in one or more runs of pages); each of the ``fonts`` its parts
    embed is embedded once (see :func:`_share_fonts`)."""
    out = body.pdf
    part = pikepdf.open(io.BytesIO(front))
    names, ahead, _key = _adopted(out, part, 0, body.next_key)
    for item in body.items:
        _shift(item, len(part.pages))
    if ahead:
        with out.open_outline() as outline:
            outline.root[:0] = ahead
    names += body.names
    unknown = _link_across(out, {bytes(name) for name, _dest in names})
    _named(out, names, body.items)
    _draw_sheets(out, [pikepdf.open(io.BytesIO(run)) for run in sheets])
    _share_fonts(out, fonts)
    return Joined(_saved(out), unknown)


def merge(parts: list[bytes]) -> bytes:
    """Consecutive runs of one part's pages (a chapter laid out in pieces) as one part, its
    ``press-xref:`` links left for :func:`join`."""
    if len(parts) == 1:
        return parts[0]
    out, names, items, _key = _appended(parts[0], parts[1:])
    _named(out, names, items)
    return _saved(out)


def _appended(
    first: bytes, parts: list[bytes]
) -> tuple[pikepdf.Pdf, Names, list[pikepdf.OutlineItem], int]:
    """``first`` with the pages of ``parts`` after its own, their tags adopted; the named
    destinations of all, the bookmarks of ``parts`` (``first`` keeps its own), and the
    parent tree's next free key."""
    out = pikepdf.open(io.BytesIO(first))
    tree = out.Root.get("/StructTreeRoot")
    next_key = _next_key(tree.ParentTree.Nums) if tree is not None else 0
    names = _dests(out, {p.obj.objgen: p for p in out.pages})
    items: list[pikepdf.OutlineItem] = []
    for data in parts:
        more, marks, next_key = _adopted(out, pikepdf.open(io.BytesIO(data)), None, next_key)
        names += more
        items += marks
    return out, names, items, next_key


def _adopted(
    out: pikepdf.Pdf, part: pikepdf.Pdf, at: int | None, next_key: int
) -> tuple[Names, list[pikepdf.OutlineItem], int]:
    """``part``'s pages put in ``out`` at page ``at`` (None: after its own), with their tags
    (before or after those there, as the pages go), their parent tree keys moved past
    ``next_key``; the part's named destinations and bookmarks, pointing there; the next key."""
    start = len(out.pages) if at is None else at
    with warnings.catch_warnings():  # of links to names: _named writes the names
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        if at is None:
            out.pages.extend(part.pages)
        else:
            for i, page in enumerate(part.pages):
                out.pages.insert(at + i, page)
    pages = out.pages[start : start + len(part.pages)]
    tree = out.Root.get("/StructTreeRoot")
    if tree is not None and "/StructTreeRoot" in part.Root:
        next_key = _join_tags(out, tree, part, pages, next_key, first=at == 0)
    names = _dests(part, {p.obj.objgen: pages[i] for i, p in enumerate(part.pages)})
    index_of = {p.obj.objgen: start + i for i, p in enumerate(part.pages)}
    with part.open_outline() as outline:
        items = [_moved(item, index_of) for item in outline.root]
    return names, items, next_key


def _named(out: pikepdf.Pdf, names: Names, items: list[pikepdf.OutlineItem]) -> None:
    """``names`` as the named destinations of ``out`` (the first of a name: the pieces of a
    chapter each have the anchors of the boxes that hold them), ``items`` after its bookmarks."""
    if names:
        first: dict[bytes, tuple[pikepdf.String, pikepdf.Array]] = {}
        for name, dest in names:
            first.setdefault(bytes(name), (name, dest))
        if "/Names" not in out.Root:
            out.Root.Names = pikepdf.Dictionary()
        flat = [value for key in sorted(first) for value in first[key]]
        out.Root.Names.Dests = pikepdf.Dictionary(Names=pikepdf.Array(flat))
    with out.open_outline() as outline:
        outline.root.extend(items)


def _saved(pdf: pikepdf.Pdf) -> bytes:
    buffer = io.BytesIO()
    pdf.save(buffer, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


def _join_tags(
    out: pikepdf.Pdf,
    tree: pikepdf.Dictionary,
    part: pikepdf.Pdf,
    pages: list[pikepdf.Page],
    next_key: int,
    first: bool = False,
) -> int:
    """Adopt ``part``'s tag tree, whose ``pages`` are in ``out`` now, after the tags there
    (``first``: before them), its parent tree keys moved past ``next_key``; the next key."""
    copied = out.copy_foreign(part.Root.StructTreeRoot)
    nums = tree.ParentTree.Nums
    pairs = list(copied.ParentTree.Nums)
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        nums.append(int(key) + next_key)
        nums.append(value)
    for page in pages:
        if "/StructParents" in page.obj:
            page.obj.StructParents = int(page.obj.StructParents) + next_key
        for annotation in page.obj.get("/Annots", []):
            if "/StructParent" in annotation:
                annotation.StructParent = int(annotation.StructParent) + next_key
    document = tree.K[0]
    for i, child in enumerate(copied.K[0].K):
        child.P = document
        if first:
            document.K.insert(i, child)
        else:
            document.K.append(child)
    return next_key + _next_key(copied.ParentTree.Nums)


def _next_key(nums: pikepdf.Array) -> int:
    keys = [int(k) for k in list(nums)[::2]]
    return max(keys) + 1 if keys else 0


def _dests(pdf: pikepdf.Pdf, pages: dict[tuple[int, int], pikepdf.Page]) -> Names:
    """The named destinations of ``pdf``, pointing at the joined PDF's ``pages``."""
    found = []
    dests = pdf.Root.get("/Names", {}).get("/Dests")
    if dests is None:
        return found
    flat = list(dests.Names)
    for name, dest in zip(flat[::2], flat[1::2], strict=True):
        page = pages.get(dest[0].objgen)
        if page is not None:
            found.append((pikepdf.String(bytes(name)), pikepdf.Array([page.obj, *list(dest)[1:]])))
    return found


def _moved(item: pikepdf.OutlineItem, index_of: dict[tuple[int, int], int]) -> pikepdf.OutlineItem:
    """A part's bookmark, pointing at the same place in the joined PDF."""
    dest = item.destination
    if not isinstance(dest, pikepdf.Array):
        raise RuntimeError(f"bookmark {item.title!r} has no destination")
    moved = pikepdf.OutlineItem(
        item.title,
        index_of[dest[0].objgen],
        "XYZ",
        left=float(dest[2]),
        top=float(dest[3]),
    )
    moved.is_closed = item.is_closed
    moved.children.extend(_moved(child, index_of) for child in item.children)
    return moved


def _shift(item: pikepdf.OutlineItem, pages: int) -> None:
    """A bookmark made by :func:`_moved` (and those under it), ``pages`` further on."""
    item.destination += pages
    for child in item.children:
        _shift(child, pages)


def _link_across(pdf: pikepdf.Pdf, known: set[bytes]) -> list[str]:
    """Links written as ``press-xref:NAME`` become links to the named destination; the
    names no part has, whose links are left pointing nowhere (as WeasyPrint does)."""
    unknown = []
    for page in pdf.pages:
        for annotation in page.obj.get("/Annots", []):
            action = annotation.get("/A")
            if action is None or action.get("/S") != "/URI":
                continue
            uri = bytes(action.URI).decode("utf-8", "replace")
            if uri.startswith(XREF):
                name = uri[len(XREF) :]
                del annotation["/A"]
                if name.encode() in known:
                    annotation.Dest = pikepdf.String(name)
                    annotation.Contents = pikepdf.String(name)
                elif name not in unknown:
                    unknown.append(name)
    return unknown


def _draw_sheets(pdf: pikepdf.Pdf, runs: list[pikepdf.Pdf]) -> None:
    """Draw each sheet (running heads, page numbers) over its page, as a pagination artifact."""
    sheets = [(run, sheet) for run in runs for sheet in run.pages]
    if len(sheets) != len(pdf.pages):
        raise RuntimeError(f"{len(sheets)} sheets for {len(pdf.pages)} pages")
    before = pdf.make_stream(b"q\n")
    after = pdf.make_stream(b"Q\n/Artifact <</Type /Pagination>> BDC\nq /PressSheet Do Q\nEMC\n")
    for page, (run, sheet) in zip(pdf.pages, sheets, strict=True):
        form = pdf.copy_foreign(run.make_indirect(sheet.as_form_xobject()))
        resources = pikepdf.Dictionary(dict(page.obj.get("/Resources", {}).items()))
        xobjects = pikepdf.Dictionary(dict(resources.get("/XObject", {}).items()))
        xobjects.PressSheet = form
        resources.XObject = xobjects
        page.obj.Resources = resources
        contents = page.obj.Contents
        drawn = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        page.obj.Contents = pikepdf.Array([before, *drawn, after])


def _share_fonts(pdf: pikepdf.Pdf, files: list[Path]) -> None:
    """One font program per font instead of one subset per part.

    WeasyPrint subsets each part's fonts keeping the original glyph ids, so a subset of
    the shipped font with the glyphs of all parts serves every part's font dictionary
    (each keeps its own widths and text mapping). At x50 this halves the file. A font
    that cannot be matched to a shipped file by its PostScript name is left as it is.
    """
    groups: dict[str, list[pikepdf.Dictionary]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for resources in _all_resources(pdf):
        for font in resources.get("/Font", {}).values():
            if font.objgen in seen or font.get("/Subtype") != "/Type0":
                continue
            seen.add(font.objgen)
            cid = font.DescendantFonts[0]
            if cid.get("/Subtype") == "/CIDFontType2" and "/FontFile2" in cid.FontDescriptor:
                groups[str(font.BaseFont).split("+", 1)[-1]].append(font)
    shipped = {_postscript_name(path.read_bytes()): path for path in files}
    for name, fonts in groups.items():
        descriptors = [font.DescendantFonts[0].FontDescriptor for font in fonts]
        if len({d.FontFile2.objgen for d in descriptors}) < 2:
            continue
        source = shipped.get(_postscript_name(descriptors[0].FontFile2.read_bytes()))
        if source is None:
            continue
        glyphs = {0}
        for font in fonts:
            widths = list(font.DescendantFonts[0].get("/W", []))
            for first, run in zip(widths[::2], widths[1::2], strict=False):
                glyphs.update(range(int(first), int(first) + len(run)))
        program = _subset(source, glyphs)
        stream = pdf.make_stream(program)
        stream.Length1 = len(program)
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
        for font, descriptor in zip(fonts, descriptors, strict=True):
            font.BaseFont = font.DescendantFonts[0].BaseFont = pikepdf.Name(f"/{tag}+{name}")
            descriptor.FontName = pikepdf.Name(f"/{tag}+{name}")
            descriptor.FontFile2 = stream
            if "/CIDSet" in descriptor:
                del descriptor["/CIDSet"]  # it described the part's own subset


def _all_resources(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The resource dictionaries of every page and of the forms drawn on it."""
    found = []
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        if resources is None:
            continue
        found.append(resources)
        for xobject in resources.get("/XObject", {}).values():
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                found.append(xobject.Resources)
    return found


def _postscript_name(program: bytes) -> str:
    face = hb.Face(hb.Blob(program))
    return str(face.get_name(hb.OTNameIdPredefined.POSTSCRIPT_NAME) or "")


def _subset(path: Path, glyphs: set[int]) -> bytes:
    """``path`` cut down to ``glyphs``, keeping their ids, as WeasyPrint subsets for a PDF."""
    wanted = hb.SubsetInput()
    for glyph in glyphs:
        wanted.glyph_set.add(glyph)
    wanted.flags = (
        hb.SubsetFlags.RETAIN_GIDS
        | hb.SubsetFlags.PASSTHROUGH_UNRECOGNIZED
        | hb.SubsetFlags.DESUBROUTINIZE
        | hb.SubsetFlags.NO_HINTING
    )
    drop = wanted.sets(hb.SubsetInputSets.DROP_TABLE_TAG)
    for table in ("BASE", "DSIG", "EBDT", "EBLC", "EBSC", "GPOS", "GSUB", "JSTF", "LTSH",
                  "PCLT", "SVG "):  # fmt: skip
        drop.add(int.from_bytes(table.encode(), "big"))
    face = hb.Face(hb.Blob.from_file_path(str(path)))
    return bytes(hb.subset(face, wanted).blob.data)


def _mark_outside_links(elements: list[etree._Element]) -> None:
    """Links to anchors outside this part become ``press-xref:`` links."""
    ids = {i for element in elements for i in element.xpath("descendant-or-self::*/@id")}
    for element in elements:
        for link in element.xpath("descendant-or-self::a[starts-with(@href, '#')]"):
            target = link.get("href")[1:]
            if target and target not in ids:
                link.set("href", XREF + target)


def _front_page(
    root: etree._Element, before: list[etree._Element]
) -> tuple[Callable[[dict[str, int]], str], list[str]]:
    front = lxml.html.document_fromstring(_html(root))
    body = front.find("body")
    body.extend(before)
    links = front.xpath(f"//nav[contains(@class, 'toc')]//a[starts-with(@href, '{XREF}')]")

    def html(pages: dict[str, int]) -> str:
        for link in links:
            number = pages.get(link.get("href")[len(XREF) :])
            if number is None:
                link.attrib.pop("data-page", None)
            else:
                link.set("data-page", str(number))
        return _html(front)

    return html, [link.get("href")[len(XREF) :] for link in links]


def _parted(
    groups: list[list[etree._Element]], chapters: list[Chapter], size_limit: int
) -> list[list[int]]:
    """The chapters of each part: one each, or (``size_limit``) short ones together."""
    parts: list[list[int]] = []
    size, open_ = 0, False  # the last part's bytes, and whether another may join it
    for index, group in enumerate(groups):
        length = sum(len(lxml.html.tostring(e)) for e in group) if size_limit else 0
        alone = index == len(groups) - 1 or _holds_refs(group)
        if open_ and not alone and chapters[index].anchor and size + length <= size_limit:
            parts[-1].append(index)
            size += length
        else:
            parts.append([index])
            size = length
        open_ = bool(size_limit) and not alone
    return parts


def _holds_refs(group: list[etree._Element]) -> bool:
    return any(e.xpath("descendant-or-self::*[@id='refs']") for e in group)


def _anchor(group: list[etree._Element]) -> str:
    return group[0].get("id", "") if group else ""


def _first_heading(elements: list[etree._Element]) -> str:
    for element in elements:
        for heading in element.xpath("descendant-or-self::h1"):
            return re.sub(r"\s+", " ", heading.text_content()).strip()
    return ""


def _css_of(root: etree._Element) -> str:
    return "\n".join(style.text or "" for style in root.iter("style"))


def _css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return f'"{escaped}"'


def _html(element: etree._Element) -> str:
    return lxml.html.tostring(element, encoding="unicode", doctype="<!DOCTYPE html>")
