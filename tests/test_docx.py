"""The Word edition as policy staff open it: styles, title page, contents, furniture, fonts."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from lxml import etree
from pypdf import PdfReader

from press.cli import main
from press.design import load_design
from press.editions.wordcheck import check_package
from press.errors import BuildError
from press.office import command, to_pdfs
from press.resources import TOOL_ROOT
from tests.conftest import Built

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
needs_office = pytest.mark.skipif(command() is None, reason="LibreOffice is not installed")


@pytest.fixture(scope="module")
def document(report: Built) -> docx.document.Document:
    return docx.Document(str(report.path("docx")))


def part(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as package:
        return etree.fromstring(package.read(name))


def test_real_word_styles_on_everything(document, minimal: Built) -> None:
    used = {p.style.name for p in document.paragraphs}
    assert {"Title", "Subtitle", "Author", "Date", "Organisation"} <= used
    assert {"Heading 1", "Heading 2", "First Paragraph", "Body Text", "Bibliography"} <= used
    names = {s.name for s in document.styles}
    assert {"Block Text", "Footnote Text", "Caption", "Table", "Hyperlink"} <= names
    assert {"TOC Heading", "toc 1", "toc 2", "toc 3", "Header", "Footer"} <= names
    notes = part(minimal.path("docx"), "word/footnotes.xml")
    styles = {s.get(f"{W}val") for s in notes.iter(f"{W}pStyle")}
    assert styles == {"FootnoteText"}


def test_styles_carry_the_design_values(document) -> None:
    design = load_design(TOOL_ROOT)
    heading = document.styles["Heading 1"]
    assert heading.font.name == design.fonts["heading"][0]
    assert heading.font.size.pt == design.sizes["h1"]
    assert str(heading.font.color.rgb) == design.colours["heading"].lstrip("#").upper()
    body = document.styles["Body Text"]
    assert body.font.name == design.fonts["body"][0]
    assert body.font.size.pt == design.sizes["body"]
    assert document.styles["Bibliography"].font.size.pt == design.sizes["bibliography"]
    assert document.styles["Footnote Text"].font.size.pt == design.sizes["footnote"]
    fonts = document.styles["Normal"].element.rPr.find(f"{W}rFonts")
    assert fonts.get(f"{W}eastAsia") == "Nanum Myeongjo"  # Korean in the body font stack


def test_title_page(document) -> None:
    front = [(p.style.name, p.text) for p in document.paragraphs[:5]]
    assert front == [
        ("Title", "North Korea's Missile Tests"),
        ("Subtitle", "Motivations, Regional Reactions and the International Response"),
        ("Author", "Policy Research Team"),
        ("Organisation", "Regional Security Programme"),
        ("Date", "November 5, 2024"),
    ]


def toc_of(path: Path) -> tuple[str, list[tuple[str, str, str, str]]]:
    """The TOC field's instruction and its entries: (style, text, anchor, page)."""
    body = part(path, "word/document.xml").find(f"{W}body")
    sdt = body.find(f"{W}sdt")
    gallery = sdt.find(f".//{W}docPartGallery").get(f"{W}val")
    assert gallery == "Table of Contents"
    instruction = "".join(i.text for i in sdt.iter(f"{W}instrText") if "TOC" in i.text)
    entries = []
    for paragraph in sdt.iter(f"{W}p"):
        link = paragraph.find(f"{W}hyperlink")
        if link is None:
            continue
        style = paragraph.find(f"{W}pPr/{W}pStyle").get(f"{W}val")
        texts = [t.text or "" for t in link.iter(f"{W}t")]
        entries.append((style, texts[0], link.get(f"{W}anchor"), texts[-1]))
    return instruction, entries


def test_contents_is_a_filled_toc_field(report: Built, document) -> None:
    instruction, entries = toc_of(report.path("docx"))
    assert instruction.strip() == 'TOC \\o "1-2" \\h \\z \\u'
    assert [text for _, text, _, _ in entries] == report.html.headings
    assert entries[0][0] == "TOC1" and entries[1][0] == "TOC2"
    body = part(report.path("docx"), "word/document.xml")
    bookmarks = {b.get(f"{W}name") for b in body.iter(f"{W}bookmarkStart")}
    assert all(anchor in bookmarks for _, _, anchor, _ in entries)
    settings = part(report.path("docx"), "word/settings.xml")
    assert settings.find(f"{W}updateFields") is None  # no "update fields?" prompt


@needs_office
def test_contents_page_numbers_match_the_laid_out_document(report: Built) -> None:
    _, entries = toc_of(report.path("docx"))
    pdf = PdfReader(io.BytesIO(to_pdfs([report.path("docx").read_bytes()], command() or "")[0]))
    marks = [(o.title, pdf.get_destination_page_number(o) + 1) for o in _flat(pdf.outline)]
    assert [(text, int(page)) for _, text, _, page in entries] == marks


def _flat(items: list) -> list:  # type: ignore[type-arg]
    return [x for i in items for x in (_flat(i) if isinstance(i, list) else [i])]


@needs_office
def test_libreoffice_converts_it_with_the_same_headings_and_fonts(report: Built) -> None:
    pdf = PdfReader(io.BytesIO(to_pdfs([report.path("docx").read_bytes()], command() or "")[0]))
    assert [o.title for o in _flat(pdf.outline)] == report.html.headings
    fonts = {
        str(f.get_object()["/BaseFont"]).split("+")[-1].split("-")[0]
        for page in pdf.pages
        for f in page["/Resources"].get("/Font", {}).values()
    }
    assert fonts == {"NotoSerif", "NotoSans", "NanumMyeongjo"}  # embedded, not the machine's
    assert "장부윤" in "".join(page.extract_text() for page in pdf.pages[-4:])


def test_header_footer_and_title_page(document) -> None:
    section = document.sections[0]
    assert section.different_first_page_header_footer  # nothing on the title page
    assert section.header.paragraphs[0].text.startswith("North Korea's Missile Tests")
    footer = section.footer.paragraphs[0]._p
    assert [f.get(f"{W}instr").strip() for f in footer.iter(f"{W}fldSimple")] == ["PAGE"]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert round(section.left_margin.mm) == 22 and round(section.top_margin.mm) == 25


def test_document_properties(document, report: Built) -> None:
    props = document.core_properties
    assert props.title == "North Korea's Missile Tests"
    assert props.author == "Policy Research Team"
    assert props.subject.startswith("How North Korea's missile tests")
    assert props.keywords == "North Korea, ballistic missiles, sanctions, Russia, deterrence"
    assert props.language == "en-US"
    styles = part(report.path("docx"), "word/styles.xml")
    langs = {e.get(f"{W}val") for e in styles.iter(f"{W}lang")}
    assert "en-US" in langs  # Word's spell checker follows the report's language


def test_fonts_embedded(report: Built) -> None:
    table = part(report.path("docx"), "word/fontTable.xml")
    embedded = {
        (f.get(f"{W}name"), e.tag.split("}")[1])
        for f in table.iter(f"{W}font")
        for e in f
        if e.tag.startswith(f"{W}embed")
    }
    assert ("Noto Serif", "embedRegular") in embedded
    assert ("Noto Serif", "embedItalic") in embedded
    assert ("Noto Sans", "embedBold") in embedded
    assert ("Nanum Myeongjo", "embedRegular") in embedded
    settings = part(report.path("docx"), "word/settings.xml")
    assert settings.find(f"{W}embedTrueTypeFonts") is not None


def test_letter_paper_page_of_total_and_footnotes(copy_root, tmp_path) -> None:
    folder = copy_root()
    report = folder / "report.yaml"
    report.write_text(report.read_text() + "page:\n  paper: letter\n  numbers: page-of-total\n")
    assert main([str(folder), "--format", "docx", "--output", str(tmp_path), "-q"]) == 0
    document = docx.Document(str(tmp_path / "briefing.docx"))
    section = document.sections[0]
    assert round(section.page_width.inches, 2) == 8.5 and round(section.page_height.inches) == 11
    footer = section.footer.paragraphs[0]
    assert footer.text.startswith("Page ")
    fields = [f.get(f"{W}instr").strip() for f in footer._p.iter(f"{W}fldSimple")]
    assert fields == ["PAGE", "NUMPAGES"]
    notes = part(tmp_path / "briefing.docx", "word/footnotes.xml")
    real = [n for n in notes.iter(f"{W}footnote") if n.get(f"{W}type") is None]
    assert len(real) == 1


def test_note_style_footnotes_counted(copy_root, tmp_path) -> None:
    args = [str(copy_root()), "--style", "chicago-notes-bibliography", "--format", "docx"]
    assert main([*args, "--output", str(tmp_path), "-q"]) == 0
    notes = part(tmp_path / "briefing.docx", "word/footnotes.xml")
    assert len([n for n in notes.iter(f"{W}footnote") if n.get(f"{W}type") is None]) == 3


def test_a_broken_package_is_caught(report: Built) -> None:
    source = report.path("docx").read_bytes()
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(broken, "w") as new:
        for item in old.infolist():
            if item.filename != "word/styles.xml":
                new.writestr(item, old.read(item))
    with pytest.raises(BuildError) as caught:
        check_package(broken.getvalue())
    assert any("missing part /word/styles.xml" in p.message for p in caught.value.problems)


def test_paragraph_text_is_read_as_python_docx_reads_it() -> None:
    """The parity check reads each paragraph's text with one XPath (extract._paragraph_text),
    not python-docx's run by run: the same text for every kind of run content."""
    from press.extract import _paragraph_text

    body = (
        '<w:p xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:pPr><w:pStyle w:val='BodyText'/></w:pPr>"
        "<w:r><w:t>One</w:t><w:tab/><w:t xml:space='preserve'> two </w:t></w:r>"
        "<w:r><w:br/><w:t>after a line break</w:t><w:br w:type='page'/><w:cr/></w:r>"
        "<w:hyperlink><w:r><w:t>linked</w:t><w:noBreakHyphen/><w:t/></w:r></w:hyperlink>"
        "<w:r><w:ptab/><w:br w:type='textWrapping'/><w:delText>gone</w:delText></w:r>"
        "<w:ins><w:r><w:t>inserted</w:t></w:r></w:ins>"
        "</w:p>"
    )
    package = docx.Document()
    package.element.body.insert(0, docx.oxml.parse_xml(body))
    paragraph = package.paragraphs[0]
    assert _paragraph_text(paragraph._p) == paragraph.text
    assert paragraph.text == "One\t two \nafter a line break\nlinked-\t\n"
