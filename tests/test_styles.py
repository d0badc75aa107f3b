"""Citation styles: nine major styles, each in all three editions; names, locales, notes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from press import extract
from press.cli import main
from press.extract import without_label
from press.resources import TOOL_ROOT
from press.styles import CATALOGUE, catalogue, resolve_style
from tests.conftest import PRINT_MARGIN_PT, put
from tests.golden import GOLDEN, STYLES, build_styles, golden_text
from tests.test_editions import in_order


@dataclass
class Styled:
    html: extract.EditionText
    docx: extract.EditionText
    pdf: extract.EditionText
    paths: dict[str, Path]


@pytest.fixture(scope="session")
def styled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Styled]:
    """The embedded report built in the nine styles in one command (sources parsed once)."""
    result = build_styles(tmp_path_factory.mktemp("styles"))
    out: dict[str, Styled] = {}
    for style in STYLES:
        paths = {w.format: w.path for w in result.written if w.style == style}
        out[style] = Styled(
            html=extract.from_html(paths["html"]),
            docx=extract.from_docx(paths["docx"]),
            pdf=extract.from_pdf(
                paths["pdf"], extract.Reading(8.5, (PRINT_MARGIN_PT, PRINT_MARGIN_PT))
            ),
            paths=paths,
        )
    return out


@pytest.mark.parametrize("style", STYLES)
def test_style_matches_its_golden_file(styled: dict[str, Styled], style: str) -> None:
    expected = (GOLDEN / f"{style}.txt").read_text(encoding="utf-8")
    assert golden_text(styled[style].html) == expected, "run `make golden` if this is intended"


@pytest.mark.parametrize("style", STYLES)
def test_same_citations_and_bibliography_in_three_editions(
    styled: dict[str, Styled], style: str
) -> None:
    s = styled[style]
    assert s.paths["pdf"].name == f"north-korea-missile-tests-{style}.pdf"
    assert s.docx.bibliography == s.html.bibliography
    assert s.docx.paragraphs == s.html.paragraphs
    assert s.docx.footnotes == s.html.footnotes
    assert in_order([without_label(b) for b in s.html.bibliography], s.pdf.body) == []
    cites = [c for c in s.html.citations if c]
    assert in_order(cites, s.docx.body) == []
    assert in_order(cites, s.pdf.body) == []
    assert in_order(s.html.footnotes, " ".join(s.pdf.footnotes)) == []


def test_citations_alone_render_as_in_the_whole_document() -> None:
    """The cacheable path (citeproc on the citations only) equals citeproc on the whole report."""
    from press.build import Options, citation_locale, prepare
    from press.cache import Cache, using
    from press.citations import _citeproc, resolve

    with using(Cache(TOOL_ROOT, enabled=False)):
        config, styles, parsed = prepare(Options(folder=TOOL_ROOT, styles=["apa", "ieee"]))
        for style in styles:
            locale = citation_locale(config, style)
            meta = {"lang": locale, "link-citations": "true", "link-bibliography": "true"}
            whole = _citeproc(parsed.ast, parsed.bibliography, style, meta, "test")
            assert resolve(parsed, style, locale).ast["blocks"] == whole["blocks"], style.name


def test_author_date_and_numeric_styles_keep_in_text_citations(styled: dict[str, Styled]) -> None:
    for style in ("apa", "ieee", "nature", "modern-language-association"):
        assert styled[style].html.footnotes == [], style
        assert styled[style].docx.footnotes == [], style
    assert styled["ieee"].html.citations[0] == "[1]"


def test_note_style_citations_are_real_footnotes(styled: dict[str, Styled]) -> None:
    notes = styled["chicago-notes-bibliography"]
    assert len(notes.html.footnotes) == 33
    assert notes.docx.footnotes == notes.html.footnotes  # word/footnotes.xml
    assert notes.html.footnotes[0].startswith("www.nti.org, accessed November 5, 2024")
    # At the foot of the page where each is called, numbered through the document.
    pages = [p for p in notes.pdf.note_pages if p.calls or p.markers]
    assert pages and all(p.calls == p.markers for p in pages)
    assert [n for p in pages for n in p.markers] == list(range(1, 34))


def test_apa_disambiguates_undated_items_of_one_site(styled: dict[str, Styled]) -> None:
    cites = " ".join(styled["apa"].html.citations)
    assert "www.tandfonline.com, n.d.-a" in cites
    assert "n.d.-b" in cites


def test_html_bibliography_links_back_to_citations(styled: dict[str, Styled]) -> None:
    from lxml import html

    root = html.parse(str(styled["apa"].paths["html"])).getroot()
    anchors = set(root.xpath("//span[contains(@class, 'cite-anchor')]/@id"))
    for entry in root.xpath("//*[@id='refs']/*"):
        back = entry.xpath(".//*[@class='cited-from']/a/@href")
        assert back, entry.get("id")
        assert all(link[1:] in anchors for link in back)


def test_renamed_and_dependent_styles_resolve() -> None:
    assert resolve_style("vancouver", TOOL_ROOT).path.name == "nlm-citation-sequence.csl"
    chicago = resolve_style("chicago-note-bibliography", TOOL_ROOT)
    assert chicago.path.name == "chicago-notes-bibliography.csl" and chicago.note
    dependent = next(
        p for p in sorted((CATALOGUE / "dependent").glob("*.csl"))
        if 'default-locale="de-DE"' in p.read_text(encoding="utf-8")[:400]
    )  # fmt: skip
    style = resolve_style(dependent.stem, TOOL_ROOT)
    assert style.path.parent == CATALOGUE
    assert style.default_locale == "de-DE"


def test_dependent_style_builds_with_its_locale(copy_root, tmp_path) -> None:
    # German Springer journals are dependent styles of springer-basic-author-date, in German.
    folder = copy_root()
    report = folder / "report.yaml"
    report.write_text(report.read_text().replace("lang: en-GB\n", ""))
    sources = folder / "sources.json"
    two_authors = '[{"family": "Okafor", "given": "Chidi"}, {"family": "Lind", "given": "Maja"}]'
    sources.write_text(
        sources.read_text().replace('[{"family": "Okafor", "given": "Chidi"}]', two_authors)
    )
    name = next(
        e.name
        for e in catalogue("")
        if e.parent == "springer-basic-author-date" and _locale(e.name) == "de-DE"
    )
    assert main([str(folder), "--style", name, "--format", "html", "--output", str(tmp_path)]) == 0
    html = extract.from_html(tmp_path / "briefing.html")
    assert "(Okafor und Lind 2021)" in html.citations  # the German "and"
    assert '<html lang="en-US">' in (tmp_path / "briefing.html").read_text()


def _locale(name: str) -> str | None:
    text = (CATALOGUE / "dependent" / f"{name}.csl").read_text(encoding="utf-8")[:600]
    found = re.search(r'default-locale="([^"]+)"', text)
    return found.group(1) if found else None


@pytest.mark.parametrize(
    ("lang", "undated", "heading"),
    [("de-DE", "o. J.", "Literaturverzeichnis"), ("fr-FR", "s. d.", None), ("en-GB", "n.d.", None)],
)
def test_lang_drives_terms_dates_and_document_language(
    copy_root, tmp_path, lang: str, undated: str, heading: str | None
) -> None:
    folder = copy_root()
    sources = folder / "sources.json"
    sources.write_text(
        sources.read_text().replace('"issued": {"date-parts": [[2021]]}', '"note": "x"')
    )
    report = folder / "report.yaml"
    report.write_text(report.read_text().replace("lang: en-GB", f"lang: {lang}"))
    assert main([str(folder), "--output", str(tmp_path), "-q"]) == 0
    html = extract.from_html(tmp_path / "briefing.html")
    assert any(undated in c for c in html.citations), html.citations
    page = (tmp_path / "briefing.html").read_text()
    assert f'<html lang="{lang}">' in page
    import docx

    assert docx.Document(str(tmp_path / "briefing.docx")).core_properties.language == lang
    from pypdf import PdfReader

    assert PdfReader(tmp_path / "briefing.pdf").trailer["/Root"]["/Lang"] == lang


def test_house_style_from_the_report_styles_folder(copy_root, tmp_path) -> None:
    folder = copy_root()
    house = (CATALOGUE / "ieee.csl").read_text(encoding="utf-8")
    house = re.sub(
        r"<title>[^<]*</title>", "<title>Harbour Board house style</title>", house, count=1
    )
    put(folder, "styles/harbour.csl", house)
    assert main([str(folder), "--style", "harbour", "--output", str(tmp_path), "-q"]) == 0
    assert "[1]" in extract.from_html(tmp_path / "briefing.html").citations


def test_styles_command_lists_matching_styles(capsys) -> None:
    assert main(["styles", "chicago-notes"]) == 0
    out = capsys.readouterr().out
    assert "chicago-notes-bibliography" in out
    assert "Chicago Manual of Style 18th edition (notes and bibliography)" in out


def test_style_preview_page(tmp_path, capsys) -> None:
    styles = ["apa", "ieee", "chicago-notes-bibliography"]
    assert main(["styles", "--preview", *styles, "--output", str(tmp_path)]) == 0
    from lxml import html

    root = html.parse(str(tmp_path / "style-preview.html")).getroot()
    columns = root.xpath("//section[@class='style']")
    assert [c.xpath("string(.//code)") for c in columns] == styles
    for column in columns:
        assert len(column.xpath(".//*[contains(@class, 'csl-entry')]")) >= 45
        assert column.xpath("string(.//div[@class='cites'])").strip()


def test_author_footnotes_sit_alongside_citation_notes(copy_root, tmp_path) -> None:
    folder = copy_root()
    args = [str(folder), "--style", "chicago-notes-bibliography", "--output", str(tmp_path), "-q"]
    assert main(args) == 0
    html = extract.from_html(tmp_path / "briefing.html")
    docx = extract.from_docx(tmp_path / "briefing.docx")
    pdf = extract.from_pdf(tmp_path / "briefing.pdf", extract.Reading(8.5, (71, 71)))
    # The author's note (with its own citation inside), then two citation notes, numbered 1-3.
    assert len(html.footnotes) == 3
    assert html.footnotes[0].startswith("Samples were taken at low tide, as in earlier surveys")
    assert html.footnotes[1].startswith("Chidi Okafor, ‘Outfall Relocation")  # en-GB quotes
    assert docx.footnotes == html.footnotes
    assert [n for p in pdf.note_pages for n in p.markers] == [1, 2, 3]
    assert all(p.calls == p.markers for p in pdf.note_pages)
