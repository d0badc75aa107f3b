"""Chapter-parallel PDF: each chapter laid out on its own, in parallel, then joined.

What a reader must not notice: page numbers, running heads, contents, bookmarks, links
and tags run on across the joins as in a PDF laid out in one piece. What an editor
must notice: an edit lays out the edited chapter again, not the others.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from press import cache, editions, extract
from press.cli import main
from press.editions import pdf, pdfparts, pdfpieces
from press.editions.pdfparts import chapters_break
from press.resources import TOOL_ROOT
from tests.conftest import PRINT_MARGIN_PT, Built, put
from tests.test_pdf import margin_text, outline


def let_chapters_run_on(folder: Path) -> None:
    """The report's own print.css: chapters no longer begin a new page."""
    shipped = (TOOL_ROOT / "styles" / "print.css").read_text()
    put(folder, "styles/print.css", shipped + "\nh1 { break-before: auto; }\n")


def pdf_detail(folder: Path, capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    assert main([str(folder), "--format", "pdf", "--no-check", *args]) == 0
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  pdf"))


def destinations(path: Path) -> dict[str, int]:
    """Each named destination and the page (from 0) it leads to."""
    pdf = pikepdf.open(path)
    index = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}
    flat = list(pdf.Root.Names.Dests.Names)
    pairs = zip(flat[::2], flat[1::2], strict=True)
    return {str(name): index[dest[0].objgen] for name, dest in pairs}


def test_the_report_is_laid_out_by_chapter(report: Built) -> None:
    detail = next(w.detail for w in report.result.written if w.format == "pdf")
    assert "8 chapters laid out in parallel" in detail


def test_links_reach_their_targets_across_chapters(report: Built) -> None:
    pdf = pikepdf.open(report.path("pdf"))
    dests = destinations(report.path("pdf"))
    links = []  # (page the link is on, page it leads to, anchor)
    for number, page in enumerate(pdf.pages):
        for annotation in page.obj.get("/Annots", []):
            if "/Dest" in annotation:
                name = str(annotation.Dest)
                assert name in dests, f"link on page {number + 1} to a missing anchor {name}"
                links.append((number, dests[name], name))
            else:
                assert not str(annotation.A.URI).startswith("press-xref:")
    references = next(page for level, title, page in outline(PdfReader(report.path("pdf")))
                      if title == "References") - 1  # fmt: skip
    citations = [link for link in links if link[2].startswith("ref-")]
    assert len(citations) > 100
    assert all(source < references <= target for source, target, _ in citations)
    # The contents link to every heading, on the page its bookmark names.
    marks = outline(PdfReader(report.path("pdf")))
    contents = {name: target + 1 for source, target, name in links if source == 1}  # in order
    assert list(contents.values()) == [p for _, _, p in marks]


def test_one_tag_tree_over_all_chapters(report: Built) -> None:
    pdf = pikepdf.open(report.path("pdf"))
    tree = pdf.Root.StructTreeRoot
    keys = [int(k) for k in list(tree.ParentTree.Nums)[::2]]
    assert keys == sorted(set(keys))
    used = [int(page.obj.StructParents) for page in pdf.pages]
    used += [int(a.StructParent) for p in pdf.pages for a in p.obj.get("/Annots", [])]
    assert sorted(used) == keys  # every page and link has its own entry, none left over
    pages = {page.obj.objgen for page in pdf.pages}
    kinds = set()

    def walk(element: pikepdf.Object) -> None:
        if "/Pg" in element:
            assert element.Pg.objgen in pages
        kinds.add(str(element.S))
        for kid in element.get("/K", []) if isinstance(element.get("/K"), pikepdf.Array) else []:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                assert kid.P.objgen == element.objgen
                walk(kid)

    walk(tree.K[0])
    assert {"/Document", "/H1", "/H2", "/P", "/Link"} <= kinds
    # in reading order: the cover's and the contents' tags first, then each chapter's
    index = {page.obj.objgen: i for i, page in enumerate(pdf.pages)}

    def first_page(element: pikepdf.Object) -> int | None:
        if "/Pg" in element:
            return index[element.Pg.objgen]
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else []:
            if isinstance(kid, pikepdf.Dictionary) and (found := first_page(kid)) is not None:
                return found
        return None

    starts = [first_page(kid) for kid in tree.K[0].K]
    starts = [page for page in starts if page is not None]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] > 10


def test_the_text_read_from_the_chapters_is_what_the_file_holds(copy_root, tmp_path) -> None:
    folder = copy_root("embedded")
    assert main([str(folder), "--format", "pdf,html", "-q", "--output", str(tmp_path)]) == 0
    path = tmp_path / "north-korea-missile-tests.pdf"
    reading = extract.Reading(8.5, (PRINT_MARGIN_PT, PRINT_MARGIN_PT))
    with cache.using(cache.Cache(folder)) as store:
        assert store.get("pdf-text", extract._text_key("pdf-text", path.read_bytes(), *reading))
        remembered = extract.from_pdf(path, reading)
    assert remembered == extract.from_pdf(path, reading)  # afresh
    unread = [None] * len(PdfReader(path).pages)  # none read before: all read then
    assert extract.pdf_text(path.read_bytes(), reading, unread) == remembered
    assert remembered.headings[0] == "Motivations and History of the Missile Programme"


def test_an_edit_lays_out_its_chapter_only(copy_root, capsys) -> None:
    folder = copy_root("embedded")
    assert "(8 new, 0 from the cache)" in pdf_detail(folder, capsys)
    section = folder / "content" / "05-escalation-and-diplomacy.md"
    section.write_text(section.read_text().replace("North Korea", "the DPRK", 1))
    assert "(1 new, 7 from the cache)" in pdf_detail(folder, capsys)


def test_a_long_reports_short_chapters_share_parts_and_read_as_laid_out_apart(
    copy_root, tmp_path, capsys, monkeypatch
) -> None:
    """Short chapters of a long report are laid out together, a part of about 24 KB of HTML
    at a time: the pages, their text, running heads, numbers, bookmarks and links are those
    of the chapters laid out apart; an edit lays out its part again."""
    folder = copy_root("embedded")
    monkeypatch.setattr(editions, "LONG_REPORT", 10)  # the embedded report is long
    read = {}
    for name, size in (("apart", 0), ("in parts", pdfparts.PART)):
        monkeypatch.setattr(pdfparts, "PART", size)
        output = tmp_path / name
        detail = pdf_detail(folder, capsys, "--no-cache", "--output", str(output))
        path = output / "north-korea-missile-tests.pdf"
        reader = PdfReader(path)
        pages = [(page.extract_text(), margin_text(page)) for page in reader.pages]
        read[name] = (pages, outline(reader), destinations(path))
        assert ("in 3 parts (3 new" in detail) == (name == "in parts")
    assert read["in parts"] == read["apart"]
    assert len(read["apart"][0]) > 12 and len(read["apart"][1]) > 10
    section = folder / "content" / "05-escalation-and-diplomacy.md"
    pdf_detail(folder, capsys)
    section.write_text(section.read_text().replace("North Korea", "the DPRK", 1))
    assert "8 chapters laid out in parallel in 3 parts (1 new, 2 from the cache)" in pdf_detail(
        folder, capsys
    )


def test_a_chapter_grown_by_pages_moves_the_numbers_after_it(copy_root, capsys) -> None:
    folder = copy_root("embedded")
    pdf_detail(folder, capsys)
    before = len(PdfReader(folder / "output" / "north-korea-missile-tests.pdf").pages)
    section = sorted((folder / "content").glob("02-*.md"))[0]
    section.write_text(section.read_text() + "\n\nA long added paragraph. " * 120 + "\n")
    assert "(1 new, 7 from the cache)" in pdf_detail(folder, capsys)
    reader = PdfReader(folder / "output" / "north-korea-missile-tests.pdf")
    assert len(reader.pages) > before
    for number, page in enumerate(reader.pages[1:], start=2):
        assert margin_text(page)[1] == str(number)
    marks = outline(reader)
    toc = reader.pages[1].extract_text()
    for _, title, page in marks:
        assert f"{title}" in toc and toc.split(title, 1)[1].split("\n")[0].endswith(str(page))


def test_one_piece_when_chapters_do_not_begin_pages(copy_root, capsys) -> None:
    folder = copy_root("embedded")
    let_chapters_run_on(folder)
    detail = pdf_detail(folder, capsys)
    assert detail.endswith(" pages")  # laid out in one piece
    reader = PdfReader(folder / "output" / "north-korea-missile-tests.pdf")
    marks = outline(reader)
    assert len({page for level, _, page in marks if level == 1}) < 8  # chapters share pages
    assert margin_text(reader.pages[-1])[1] == str(len(reader.pages))


@pytest.mark.parametrize(
    ("css", "breaks"),
    [
        ("h1 { break-before: page; }", True),
        ("h1 { break-before: page; } h1 { break-before: auto; }", False),
        ("section.level1 { page-break-before: always; }", True),
        ("h1 { break-before: right; }", False),  # a blank page may be wanted: one piece
        ("h2 { break-before: page; }", False),
        ("", False),
    ],
)
def test_chapter_breaks_are_read_from_the_css(css: str, breaks: bool) -> None:
    assert chapters_break(css) is breaks


def test_the_parts_stylesheet_has_no_margin_boxes_and_the_rest_as_it_was() -> None:
    css = (
        "@page { size: A5; @top-left { content: string(title); } margin: 2cm; "
        "@footnote { border-top: 1pt solid; } }\n"
        "@media print { @page :left { @bottom-left { content: counter(page); } } p { color: red } }"
        "\nh1 { break-before: page; } @font-face { font-family: X; src: url(x.woff2); }"
    )
    assert pdfparts.without_margin_boxes(css) == (
        "@page { size: A5;  margin: 2cm; @footnote { border-top: 1pt solid; } }\n"
        "@media print { @page :left {  } p { color: red } }"
        "\nh1 { break-before: page; } @font-face { font-family: X; src: url(x.woff2); }"
    )
    page = "<html><head><style>{}</style>{}</head><body><main><section class='level1'><h1>A</h1>"
    page += "</section><section class='level1'><h1>B</h1></section></main></body></html>"
    split = pdfparts.split(page.format(css, ""))
    assert split is not None and split.css == pdfparts.without_margin_boxes(css)
    linked = pdfparts.split(page.format(css, '<link rel="stylesheet" href="more.css">'))
    assert linked is not None and linked.css.endswith(pdfparts.NO_FURNITURE)  # theirs too


def test_running_heads_may_hold_quotes(copy_root, capsys) -> None:
    folder = copy_root()
    section = folder / "content" / "02-outlook.md"
    lines = section.read_text().splitlines()
    lines[0] = '# The "Outlook" \\\\ next'
    section.write_text("\n".join(lines) + "\n")
    pdf_detail(folder, capsys)
    reader = PdfReader(folder / "output" / "briefing.pdf")
    heads = [margin_text(page)[0] for page in reader.pages]
    assert any(head.endswith("The “Outlook” \\ next") for head in heads), heads


def test_a_bookmark_in_the_front_comes_before_the_chapters(copy_root, capsys) -> None:
    # The chapters are joined first (while the front is laid out), the front put before them.
    folder = copy_root("embedded")
    shipped = (TOOL_ROOT / "styles" / "print.css").read_text()
    put(folder, "styles/print.css", shipped + ".toc-title { bookmark-level: 1 }")
    pdf_detail(folder, capsys)
    marks = outline(PdfReader(folder / "output" / "north-korea-missile-tests.pdf"))
    assert marks[0] == (1, "Contents", 2)
    assert marks[1] == (1, "Motivations and History of the Missile Programme", 3)
    assert [page for _level, _title, page in marks] == sorted(page for *_, page in marks)


def test_a_link_to_no_anchor_is_reported_as_in_one_piece(copy_root, capsys) -> None:
    folder = copy_root()
    section = folder / "content" / "02-outlook.md"
    section.write_text(section.read_text() + "\nSee [the annex](#annex).\n")
    assert main([str(folder), "--format", "pdf", "--no-check"]) == 0
    assert "No anchor #annex for internal URI reference [pdf.weasyprint]" in capsys.readouterr().err
    pdf = pikepdf.open(folder / "output" / "briefing.pdf")
    for page in pdf.pages:
        for annotation in page.obj.get("/Annots", []):
            assert "press-xref" not in str(annotation.get("/A", {}).get("/URI", ""))


def test_each_font_is_embedded_once_for_all_chapters(report: Built) -> None:
    pdf = pikepdf.open(report.path("pdf"))
    programs: dict[str, set[tuple[int, int]]] = {}
    for page in pdf.pages:
        resources = [page.obj.Resources, *[x.Resources for x in page.obj.Resources.XObject.values()
                                           if "/Resources" in x]]  # fmt: skip
        for fonts in (r.get("/Font", {}) for r in resources):
            for font in fonts.values():
                name = str(font.BaseFont).split("+")[-1]
                descriptor = font.DescendantFonts[0].FontDescriptor
                programs.setdefault(name, set()).add(descriptor.FontFile2.objgen)
    assert {"Noto-Serif", "Noto-Sans", "Nanum-Myeongjo"} <= set(programs)
    assert all(len(found) == 1 for found in programs.values()), programs


@pytest.mark.parametrize("one_piece", [False, True])
def test_text_before_the_first_heading_is_read_and_agrees(copy_root, capsys, one_piece) -> None:
    folder = copy_root()
    section = folder / "content" / "01-findings.md"
    opening = "Opening words before any chapter.^[A preamble note.]\n\n"
    section.write_text(opening + section.read_text())
    if one_piece:
        let_chapters_run_on(folder)
    assert main([str(folder), "-q"]) == 0, capsys.readouterr().err  # the editions agree
    reading = extract.Reading(8.5, (PRINT_MARGIN_PT, PRINT_MARGIN_PT))
    pdf = extract.from_pdf(folder / "output" / "briefing.pdf", reading)
    assert pdf.body.startswith("Opening words before any chapter.")
    assert "A preamble note." in pdf.footnotes[0]


@pytest.mark.parametrize("one_piece", [False, True])
def test_the_contents_keep_the_reports_own_style(copy_root, capsys, one_piece: bool) -> None:
    """A report's print.css that writes the contents' page numbers its own way (here in
    brackets, no leader) gets them so whether the PDF is laid out by chapter or in one."""
    folder = copy_root("embedded")
    shipped = (TOOL_ROOT / "styles" / "print.css").read_text()
    rule = '.toc a::after { content: " [p. " target-counter(attr(href url), page) "]"; }\n'
    put(folder, "styles/print.css", shipped + rule + ("h1 { break-before: auto; }\n" * one_piece))
    assert ("chapters laid out" in pdf_detail(folder, capsys)) != one_piece
    reader = PdfReader(folder / "output" / "north-korea-missile-tests.pdf")
    toc = reader.pages[1].extract_text()
    marks = outline(reader)
    assert marks and "..." not in toc
    for _, title, page in marks:
        assert f"{title} [p. {page}]" in " ".join(toc.split()), title


def placed_text(path: Path) -> list[list[tuple[str, float, float]]]:
    """Each page's pieces of text with where they are drawn."""
    pages = []
    for page in PdfReader(path).pages:
        found: list[tuple[str, float, float]] = []

        def visit(text: str, _cm: object, tm: list[float], *_rest: object) -> None:
            if text.strip():
                found.append((text, round(tm[4], 2), round(tm[5], 2)))  # noqa: B023

        page.extract_text(visitor_text=visit)
        pages.append(found)
    return pages


def links(path: Path) -> list[tuple[int, str]]:
    """Each link's page (from 0) and where it leads: a named destination or a URL."""
    found = []
    for number, page in enumerate(pikepdf.open(path).pages):
        for annotation in page.obj.get("/Annots", []):
            if "/Dest" in annotation:
                found.append((number, str(annotation.Dest)))
            elif "/A" in annotation:
                found.append((number, str(annotation.A.get("/URI", ""))))
    return found


@pytest.mark.parametrize("case", ["shipped", "decorated", "counted", "in the last chapter"])
def test_a_long_bibliography_is_laid_out_in_pieces_as_in_one(
    copy_root, tmp_path, monkeypatch, case: str
) -> None:
    """Laid out a few pages at a time (the layout process holds those pages only), the
    bibliography's pages are the same as laid out in one piece: each piece of text in the same
    place, the same anchors on the same pages, each once, the same links and bookmarks; also
    where its containers have margins, padding and borders, where a selector counts the
    entries (the entries before a piece are then kept, hidden), and where it ends the last
    chapter (whose citations then link to entries in later pieces)."""
    folder = copy_root("embedded")
    css = {
        "decorated": "#refs { border-top: 1pt solid; padding-top: 6pt } "
        ".csl-entry { margin-top: 3pt }",
        "counted": ".csl-entry:nth-child(3n) { margin-top: 9pt }",
    }
    shipped = (TOOL_ROOT / "styles" / "print.css").read_text()
    put(folder, "styles/print.css", shipped + css.get(case, ""))
    if case == "in the last chapter":
        last = folder / "content" / "07-international-organisations.md"
        last.write_text(last.read_text() + "\n\n::: { #refs }\n:::\n")
    log = tmp_path / "pieces.log"
    documents = pdfpieces.documents

    def logged(page: str, render, css: str = ""):  # type: ignore[no-untyped-def]
        for document in documents(page, render, css):  # in the layout processes
            if 'id="refs"' in page:  # the bibliography's (the chapters' vary with the rehearsal)
                with log.open("a") as out:
                    out.write(f"{len(document.pages)}\n")
            yield document

    monkeypatch.setattr(pdfpieces, "documents", logged)
    built = {}
    for name, piece in (("one", 10**9), ("pieces", 2_500)):
        monkeypatch.setattr(pdfpieces, "PIECE", piece)
        log.write_text("")
        output = tmp_path / name
        assert main([str(folder), "-q", "--no-cache", "--output", str(output)]) == 0  # agree
        built[name] = (output / "north-korea-missile-tests.pdf", log.read_text().split())
    one, pieces = built["one"], built["pieces"]
    assert len(one[1]) == 1 and len(pieces[1]) > 1  # the bibliography in two pieces or more
    assert sum(map(int, pieces[1])) == int(one[1][0])
    assert placed_text(pieces[0]) == placed_text(one[0])
    assert destinations(pieces[0]) == destinations(one[0])
    pdf = pikepdf.open(pieces[0])
    names = [str(name) for name in list(pdf.Root.Names.Dests.Names)[::2]]
    assert len(names) == len(set(names))
    assert outline(PdfReader(pieces[0])) == outline(PdfReader(one[0]))
    assert links(pieces[0]) == links(one[0])
    assert sum(name.startswith("ref-") for _, name in links(one[0])) > 30


@pytest.mark.parametrize(
    ("css", "looks"),
    [
        (".csl-entry { margin: 0 } @page { @top-left { content: 'a + b' } }", False),
        ("a[title~=x], p::first-line, a:hover { color: red }", False),
        (".csl-entry + .csl-entry { margin: 0 }", True),
        ("@media print { .csl-entry:first-of-type { margin: 0 } }", True),
        ("div:not(:last-child) { margin: 0 }", True),
        ("#refs:has(> .csl-entry) { margin: 0 }", True),
        ('@import url("house.css"); p { margin: 0 }', True),
    ],
)
def test_a_piece_keeps_the_entries_before_it_where_a_selector_looks_at_siblings(
    css: str, looks: bool
) -> None:
    assert pdfpieces._looks_at_siblings(css) is looks


@pytest.mark.parametrize("cores", [2, 4])
def test_the_contents_and_sheets_before_the_bibliography_are_laid_out_while_it_is(
    copy_root, tmp_path, monkeypatch, cores: int
) -> None:
    """When every chapter but the last is laid out and a worker is still on that one (the
    bibliography, the longest, taken first), the contents with their page numbers and the
    runs of sheets before the bibliography are laid out aside, into the cache; after it only
    its own sheets are. With more workers, once the others are done. The PDF is the same as
    without."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: all in one process")
    monkeypatch.setattr(os, "cpu_count", lambda: cores)  # workers: one per core but one
    folder = copy_root("embedded")
    log = tmp_path / "layouts.log"
    lay_out = pdf.lay_out
    main_process = os.getpid()

    def logged(layout: pdf.Layout) -> pdf.Laid:
        page, css = layout.page, layout.css
        kind = ("bibliography" if 'id="refs"' in page else "sheets" if pdfparts.SHEETS_ONLY in css
                else "guess" if not layout.write else "front" if 'data-page="' in page
                else "chapter")  # fmt: skip
        start = time.monotonic()
        if kind == "bibliography":
            time.sleep(4)
        elif kind == "chapter" and os.getpid() != main_process:
            time.sleep(0.5)  # other workers still on a chapter when the main process is done
        laid = lay_out(layout)
        with log.open("a") as out:
            out.write(f"{kind} {os.getpid()} {start} {time.monotonic()} {laid.cached}\n")
        return laid

    monkeypatch.setattr(pdf, "lay_out", logged)
    monkeypatch.setattr(pdfparts, "SHEETS_PER_RUN", 4)
    pages = {}
    for name, cached in (("ahead", []), ("one after another", ["--no-cache"])):
        log.write_text("")
        output = tmp_path / name
        assert main([str(folder), "-q", "--format", "pdf", "--output", str(output), *cached]) == 0
        pages[name] = output / "north-korea-missile-tests.pdf"
        if not cached:
            lines = [line.split() for line in log.read_text().splitlines()]
    laid = [(kind, int(pid), float(start), float(end)) for kind, pid, start, end, _ in lines]
    assert not any(cached == "True" for *_, cached in lines)
    [(_, worker, _, done)] = [entry for entry in laid if entry[0] == "bibliography"]
    ahead = [
        (kind, pid) for kind, pid, _, end in laid if kind in ("front", "sheets") and end < done
    ]
    assert [kind for kind, _pid in ahead] == ["front", "sheets", "sheets", "sheets"]
    [aside] = {pid for _kind, pid in ahead}
    assert aside not in (os.getpid(), worker)
    after = [(kind, pid) for kind, pid, start, _ in laid if start > done]
    assert after == [("sheets", os.getpid())]  # the bibliography's, from page 13
    assert placed_text(pages["ahead"]) == placed_text(pages["one after another"])
    margins = [[margin_text(page) for page in PdfReader(pages[name]).pages] for name in pages]
    assert margins[0] == margins[1]


@pytest.mark.parametrize("numbers", ["plain", "page-of-total"])
def test_sheets_in_runs_carry_the_same_heads_and_numbers(
    copy_root, tmp_path, monkeypatch, numbers: str
) -> None:
    """Many sheets are laid out in runs side by side: every page's running head and number is
    as with the sheets in one run, each run beginning on a page of either side (its first
    right page an odd one, as in one run). "Page 3 of 14" needs every sheet in one run: it is
    not cut."""
    folder = copy_root("embedded")
    report = folder / "report.yaml"
    report.write_text(report.read_text() + f"page:\n  numbers: {numbers}\n")
    made: list[int] = []
    furniture = pdfparts.furniture

    def counted(split, front_pages, chapter_pages):  # type: ignore[no-untyped-def]
        runs = furniture(split, front_pages, chapter_pages)
        if chapter_pages[-1] is not None:  # not the runs before a bibliography still laid out
            made.append(len(runs))
        return runs

    monkeypatch.setattr(pdfparts, "furniture", counted)
    margins, placed = {}, {}
    for name, per_run in (("whole", 10**6), ("runs", 4)):
        monkeypatch.setattr(pdfparts, "SHEETS_PER_RUN", per_run)
        output = tmp_path / name
        argv = [str(folder), "-q", "--no-cache", "--format", "pdf", "--output", str(output)]
        assert main(argv) == 0
        path = output / "north-korea-missile-tests.pdf"
        margins[name] = [margin_text(page) for page in PdfReader(path).pages]
        placed[name] = placed_text(path)
    assert made == ([1, 4] if numbers == "plain" else [1, 1])  # 14 sheets: from 1, 5, 9, 13
    assert placed["runs"] == placed["whole"]  # each piece of text where it was
    heads, feet = zip(*margins["runs"], strict=True)
    total = len(feet)
    expected = [str(n) if numbers == "plain" else f"Page {n} of {total}" for n in (2, 3, 9)]
    assert [feet[1], feet[2], feet[8]] == expected
    assert "Reactions of Japan and South Korea" in " ".join(heads)
