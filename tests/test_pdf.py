"""The PDF edition as an editor checks it: pages, contents, outline, fonts, metadata, standards."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from press.cli import main
from tests.conftest import PRINT_MARGIN_PT, Built


def margin_text(page, margin: float = PRINT_MARGIN_PT) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(head, foot): the text a page carries in its top and bottom margins."""
    height = float(page.mediabox.height)
    head: list[str] = []
    foot: list[str] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, _size: float) -> None:
        y = cm[5] + cm[3] * tm[5]
        if y >= height - margin:
            head.append(text)
        elif y <= margin:
            foot.append(text)

    page.extract_text(visitor_text=visit)
    return " ".join(head).strip(), " ".join(foot).strip()


def outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(level, title, page number) of every bookmark, in order."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list, level: int) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                found.append((level, item.title, reader.get_destination_page_number(item) + 1))

    walk(reader.outline, 1)
    return found


@pytest.fixture(scope="module")
def reader(report: Built) -> PdfReader:
    return PdfReader(report.path("pdf"))


def test_page_count(report: Built, reader: PdfReader) -> None:
    pdf = next(w for w in report.result.written if w.format == "pdf")
    assert pdf.detail.startswith(f"{len(reader.pages)} pages")
    assert 10 <= len(reader.pages) <= 20


def test_outline_lists_headings_in_order_with_levels(report: Built, reader: PdfReader) -> None:
    marks = outline(reader)
    assert [title for _, title, _ in marks] == report.html.headings
    assert marks[0][:2] == (1, "Motivations and History of the Missile Programme")
    assert marks[1][:2] == (2, "Strategic and Political Objectives")
    assert marks[-1][:2] == (1, "References")


def test_every_page_after_the_cover_has_its_number(reader: PdfReader) -> None:
    head, foot = margin_text(reader.pages[0])
    assert (head, foot) == ("", ""), "the cover carries no running head or number"
    for number, page in enumerate(reader.pages[1:], start=2):
        assert margin_text(page)[1] == str(number)


def test_running_heads_carry_title_and_section(reader: PdfReader) -> None:
    marks = {page: title for level, title, page in outline(reader) if level == 1}
    section = None
    for number, page in enumerate(reader.pages[2:], start=3):
        section = marks.get(number, section)
        head = margin_text(page)[0]
        assert head.startswith("North Korea's Missile Tests")
        assert head.endswith(section)


def test_contents_page_numbers_match_the_pages(reader: PdfReader) -> None:
    toc = reader.pages[1].extract_text()
    listed = dict(re.findall(r"^(.+?)\s*\.{3,}\s*(\d+)\s*$", toc, re.M))
    marks = outline(reader)
    assert len(listed) == len(marks)  # toc-depth 2 shows every heading of this report
    for _, title, page in marks:
        assert int(listed[title]) == page, title


def test_metadata(reader: PdfReader) -> None:
    meta = reader.metadata
    assert meta is not None
    title = "North Korea's Missile Tests"
    assert meta.title == f"{title}: Motivations, Regional Reactions and the International Response"
    assert meta.author == "Policy Research Team"
    assert meta.subject and meta.subject.startswith("How North Korea's missile tests")
    assert meta["/Keywords"] == "North Korea, ballistic missiles, sanctions, Russia, deterrence"
    assert meta["/CreationDate"] == "D:20241105"
    assert reader.trailer["/Root"]["/Lang"] == "en-US"
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged


def test_long_urls_break_after_slashes(reader: PdfReader) -> None:
    bibliography = "".join(page.extract_text() for page in reader.pages[-3:])
    lines = [line for line in bibliography.splitlines() if "https://" in line or "/" in line]
    # A URL broken mid-word would leave a hyphen-less fragment; ours end at a slash or a mark.
    assert any(line.rstrip().endswith("/") for line in lines)


def build_variant(folder: Path, out: Path, extra: str, *args: str) -> PdfReader:
    report = folder / "report.yaml"
    report.write_text(report.read_text() + extra)
    assert main([str(folder), "--format", "pdf", "--output", str(out), "-q", *args]) == 0
    return PdfReader(out / "briefing.pdf")


def test_letter_paper_margins_and_page_of_total(copy_root, tmp_path) -> None:
    extra = "page:\n  paper: letter\n  margins: 1in 1.25in\n  numbers: page-of-total\n"
    reader = build_variant(copy_root(), tmp_path, extra)
    assert [float(v) for v in reader.pages[0].mediabox[2:]] == [612, 792]
    total = len(reader.pages)
    assert margin_text(reader.pages[2], 72)[1] == f"Page 3 of {total}"
    xs: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], _f: object, _s: float) -> None:
        if text.strip():
            xs.append(cm[4] + cm[0] * tm[4])

    reader.pages[2].extract_text(visitor_text=visit)
    assert min(xs) == pytest.approx(90, abs=1)  # 1.25 in


def test_cover_has_the_logo(copy_root, tmp_path) -> None:
    folder = copy_root()
    reader = build_variant(folder, tmp_path, "logo: content/counts.png\n")
    images = reader.pages[0]["/Resources"].get("/XObject", {})
    assert any(x.get_object()["/Subtype"] == "/Image" for x in images.values())


def test_pdf_ua_1(copy_root, tmp_path) -> None:
    reader = build_variant(copy_root(), tmp_path, "pdf:\n  standard: ua-1\n")
    root = reader.trailer["/Root"]
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])
    xmp = reader.xmp_metadata.rdf_root.toxml()  # type: ignore[union-attr]
    assert 'pdfuaid:part="1"' in xmp
    tags = struct_tags(root["/StructTreeRoot"])
    assert {"/H1", "/H2", "/P", "/Figure", "/Caption"} <= {tag for tag, _ in tags}
    assert ("/Figure", "Bacterial counts at the five sampling sites") in tags


def test_pdf_a_3u(copy_root, tmp_path) -> None:
    reader = build_variant(copy_root(), tmp_path, "pdf:\n  standard: a-3u\n")
    xmp = reader.xmp_metadata.rdf_root.toxml()  # type: ignore[union-attr]
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="U"' in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]


def struct_tags(node) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    found: list[tuple[str, str | None]] = []

    def walk(item) -> None:  # type: ignore[no-untyped-def]
        item = item.get_object() if hasattr(item, "get_object") else item
        if isinstance(item, list):
            for child in item:
                walk(child)
        elif hasattr(item, "get"):
            if item.get("/S"):
                alt = item.get("/Alt")
                found.append((str(item["/S"]), str(alt) if alt is not None else None))
            if item.get("/K") is not None:
                walk(item["/K"])

    walk(node)
    return found


def test_same_inputs_give_identical_bytes(copy_root, tmp_path, monkeypatch) -> None:
    folder = copy_root()
    report = folder / "report.yaml"
    report.write_text(report.read_text().replace("date: 2025-03-14\n", ""))
    findings = folder / "content" / "01-findings.md"
    findings.write_text(findings.read_text().replace("{{ report.date.year + 1 }}", "2026"))
    findings.write_text(
        findings.read_text().replace(", dated {{ report.date | long_date(report.lang) }}", "")
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1730764800")
    for run in ("a", "b"):
        assert main([str(folder), "--format", "pdf", "--output", str(tmp_path / run), "-q"]) == 0
    first = (tmp_path / "a" / "briefing.pdf").read_bytes()
    assert first == (tmp_path / "b" / "briefing.pdf").read_bytes()
    assert (
        PdfReader(tmp_path / "a" / "briefing.pdf").metadata["/CreationDate"] == "D:20241105000000Z"
    )


def test_a_glyph_no_shipped_font_has_is_reported(copy_root, tmp_path, capsys) -> None:
    folder = copy_root()
    outlook = folder / "content" / "02-outlook.md"
    outlook.write_text(outlook.read_text().replace("Next steps", "Next steps \u2603"))
    assert main([str(folder), "--format", "pdf", "--output", str(tmp_path), "-q"]) == 0
    err = capsys.readouterr().err
    assert "pdf edition: warning: no shipped font has a glyph for '\u2603' (U+2603)" in err


def test_a_warning_from_a_parallel_writer_is_printed_once_and_strict_fails(
    copy_root, tmp_path, capsys
) -> None:
    folder = copy_root()
    outlook = folder / "content" / "02-outlook.md"
    outlook.write_text(outlook.read_text().replace("Next steps", "Next steps \u2603"))
    assert main([str(folder), "--output", str(tmp_path / "a"), "-q", "--no-cache"]) == 0
    assert capsys.readouterr().err.count("[font.missing-glyph]") == 1  # from the PDF worker
    assert main([str(folder), "--output", str(tmp_path / "b"), "--strict", "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert "pdf edition: error: no shipped font has a glyph for '\u2603'" in err
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").glob("*.pdf"))


def test_font_subsets_do_not_make_cffi_parse_a_type_per_length(tmp_path: Path) -> None:
    """WeasyPrint's arrays of glyph ids are made with one C type, not one per length (each
    new one was parsed by pycparser: a quarter of the time of the seed's chapters)."""
    from weasyprint.text.ffi import ffi

    from press import cache
    from press.editions.pdf import Layout, lay_out

    with cache.using(cache.Cache(tmp_path, enabled=False)):
        texts = ["Short.", "A longer text, with more letters: xyzzy 0123456789 ÄÖÜ."]
        laid = [lay_out(Layout(f"<p>{text}</p>", tmp_path, {})) for text in texts]
    assert all(piece.pages == 1 and piece.pdf.startswith(b"%PDF") for piece in laid)
    sized = [t for t in ffi._parsed_types if re.fullmatch(r"hb_codepoint_t\[\d+\]", str(t))]
    assert sized == []
    fonts = [PdfReader(io.BytesIO(p.pdf)).pages[0]["/Resources"]["/Font"] for p in laid]
    assert all(len(f) >= 1 for f in fonts)  # the subset fonts are there
