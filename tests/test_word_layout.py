"""The Word edition's contents numbered from LibreOffice's layout chapter by chapter: after an
edit only its chapter is laid out, and the numbers are those of a whole layout."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from press import cache, office
from press.cli import main
from press.editions import wordlayout
from press.office import command, to_pdfs
from press.resources import TOOL_ROOT
from tests.test_docx import needs_office, toc_of

STEM = "north-korea-missile-tests"


def docx_detail(folder: Path, capsys, *args: str) -> str:  # type: ignore[no-untyped-def]
    assert main([str(folder), "--format", "docx", "--no-check", *args]) == 0
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  docx"))


def with_notes(folder: Path) -> None:
    """The report in a notes style: footnotes on every page, numbered through the document."""
    config = folder / "report.yaml"
    text = config.read_text().replace(
        "citation-style: apa", "citation-style: chicago-note-bibliography"
    )
    config.write_text(text)


@needs_office
def test_an_edit_lays_out_its_chapter_and_numbers_as_a_whole_layout(
    copy_root, capsys, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "none")  # the report's profile, then
    folder = copy_root("embedded")
    with_notes(folder)
    assert "(whole document laid out)" in docx_detail(folder, capsys)
    _, before = toc_of(folder / "output" / f"{STEM}.docx")
    kept = list((folder / ".cache" / "office-profile").iterdir())
    assert len(kept) == 1  # LibreOffice's profile, for the next run
    with zipfile.ZipFile(kept[0]) as package:  # noted as started (the next test)
        assert b"ooSetupLastVersion" in package.read("user/registrymodifications.xcu")
    kept[0].write_bytes(b"damaged")  # then made again
    section = folder / "content" / "02-japan-and-south-korea.md"
    section.write_text(section.read_text() + "\n\nA long added paragraph. " * 120 + "\n")
    assert "(1 of 8 chapters laid out, the others from the cache)" in docx_detail(folder, capsys)
    assert kept[0].read_bytes().startswith(b"PK")
    edited = (folder / "output" / f"{STEM}.docx").read_bytes()
    _, after = toc_of(folder / "output" / f"{STEM}.docx")
    assert int(after[-1][3]) > int(before[-1][3])  # the chapters after it moved
    assert "(whole document laid out)" in docx_detail(folder, capsys, "--no-cache")
    assert (folder / "output" / f"{STEM}.docx").read_bytes() == edited


@needs_office
def test_a_new_contents_is_laid_out_alone_and_numbers_as_a_whole_layout(
    copy_root, capsys, tmp_path, monkeypatch
) -> None:
    """Headings added to one chapter: its contents entries make the contents two pages
    longer, so every chapter moves two pages; the title page and contents are laid out alone, with
    that chapter, not the whole document."""
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "none")
    folder = copy_root("embedded")
    docx = folder / "output" / f"{STEM}.docx"
    assert "(whole document laid out)" in docx_detail(folder, capsys)
    _, before = toc_of(docx)
    section = folder / "content" / "05-escalation-and-diplomacy.md"
    added = "".join(f"\n\n## Added part {n}\n\nA short paragraph.\n" for n in range(45))
    section.write_text(section.read_text() + added)
    laid = "the title page and contents and 1 of 8 chapters laid out, the others from the cache"
    assert f"({laid})" in docx_detail(folder, capsys)
    _, after = toc_of(docx)
    assert len(after) == len(before) + 45
    assert int(after[0][3]) == int(before[0][3]) + 2  # the contents two pages longer
    edited = docx.read_bytes()
    assert "(whole document laid out)" in docx_detail(folder, capsys, "--no-cache")
    assert docx.read_bytes() == edited
    section.write_text(section.read_text().replace("## Added part 7\n", "## Renamed part\n"))
    assert f"({laid})" in docx_detail(folder, capsys)  # the renamed chapter with the contents


@needs_office
def test_a_new_title_page_is_laid_out_alone(copy_root, capsys, tmp_path, monkeypatch) -> None:
    """Only the front matter changed (its subtitle): it is laid out alone, the chapters all
    from the cache, and the pages are as in a whole layout."""
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "none")
    folder = copy_root("embedded")
    docx = folder / "output" / f"{STEM}.docx"
    assert "(whole document laid out)" in docx_detail(folder, capsys)
    config = folder / "report.yaml"
    config.write_text(
        re.sub(r"(?m)^subtitle: .*$", "subtitle: Another Subtitle", config.read_text())
    )
    laid = "the title page and contents laid out, the chapters from the cache"
    assert f"({laid})" in docx_detail(folder, capsys)
    edited = docx.read_bytes()
    assert b"Another Subtitle" in zipfile.ZipFile(docx).read("word/document.xml")
    assert "(whole document laid out)" in docx_detail(folder, capsys, "--no-cache")
    assert docx.read_bytes() == edited


@needs_office
def test_a_renamed_heading_that_later_chapters_share_lays_out_its_chapter_alone(
    copy_root, capsys, tmp_path, monkeypatch
) -> None:
    """Pandoc names headings of the same text in order (``background``, ``background-1``,
    ...): renaming the first renames the later ones' bookmarks, which their layout does not
    read, so they stay in the cache."""
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "none")
    folder = copy_root("embedded")
    sections = sorted((folder / "content").glob("0[345]-*.md"))
    for section in sections:
        section.write_text(section.read_text() + "\n\n## Background\n\nA short paragraph.\n")
    assert "(whole document laid out)" in docx_detail(folder, capsys)
    first = sections[0]
    first.write_text(first.read_text().replace("## Background\n", "## Context\n"))
    laid = "the title page and contents and 1 of 8 chapters laid out, the others from the cache"
    assert f"({laid})" in docx_detail(folder, capsys)
    edited = (folder / "output" / f"{STEM}.docx").read_bytes()
    assert b'w:name="background-2"' not in zipfile.ZipFile(io.BytesIO(edited)).read(
        "word/document.xml"
    )  # the later chapters' bookmarks renamed
    assert "(whole document laid out)" in docx_detail(folder, capsys, "--no-cache")
    assert (folder / "output" / f"{STEM}.docx").read_bytes() == edited


@pytest.fixture(scope="module")
def noted(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The embedded report's Word edition in a notes style."""
    folder = tmp_path_factory.mktemp("noted")
    shutil.copy(TOOL_ROOT / "report.yaml", folder)
    shutil.copytree(TOOL_ROOT / "content", folder / "content")
    with_notes(folder)
    assert main([str(folder), "--format", "docx", "--no-check", "--quiet", "--no-cache"]) == 0
    return (folder / "output" / f"{STEM}.docx").read_bytes()


@needs_office
def test_a_chapter_laid_out_alone_numbers_its_footnotes_as_in_the_whole(noted: bytes) -> None:
    package = zipfile.ZipFile(io.BytesIO(noted))
    parts = wordlayout._cut(package, "")
    first = parts.first_notes
    chapter = next(i for i in range(1, len(first) - 1) if first[i + 1] > first[i])
    pdf = to_pdfs([wordlayout._partial(package, parts, [chapter])], command() or "")[0]
    document = pdfium.PdfDocument(pdf)
    text = "\n".join(document[i].get_textpage().get_text_range() for i in range(1, len(document)))
    numbers = [int(n) for n in re.findall(r"^(\d+) \S", text, re.M)]
    assert numbers == list(range(first[chapter], first[chapter + 1]))


def test_each_chapters_key_changes_with_it_alone(noted: bytes) -> None:
    keys = wordlayout._cut(zipfile.ZipFile(io.BytesIO(noted)), "7.4").keys
    assert len(keys) == 9 and len(set(keys)) == 9  # the front matter and 8 chapters

    def changed(name: str, change: Callable[[bytes], bytes], version: str = "7.4") -> list[str]:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(noted)) as source, zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                target.writestr(item, change(data) if item.filename == name else data)
        return wordlayout._cut(zipfile.ZipFile(io.BytesIO(out.getvalue())), version).keys

    def in_last_chapter(xml: bytes) -> bytes:
        at = xml.index(b"</w:t>", xml.rindex(b'w:val="Heading1"'))
        return xml[:at] + b" (revised)" + xml[at:]

    assert changed("word/document.xml", lambda xml: xml) == keys
    edited = changed("word/document.xml", in_last_chapter)
    assert edited[:-1] == keys[:-1] and edited[-1] != keys[-1]
    restyled = changed(
        "word/styles.xml", lambda xml: xml.replace(b"</w:styles>", b"<!----></w:styles>")
    )
    assert not set(restyled) & set(keys)  # new styles: every part laid out again
    assert not set(changed("word/document.xml", lambda xml: xml, "7.5")) & set(keys)


@needs_office
def test_libreoffice_started_early_converts_once_and_is_gone_after(
    noted: bytes, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "none")
    soffice = command() or ""
    profiles = tmp_path / ".cache" / "office-profile"
    with cache.using(cache.Cache(tmp_path)):
        with office.waiting(soffice):  # no profile kept yet: none waits, the conversion makes one
            assert office._instance is None
            first = to_pdfs([noted], soffice)[0]
        assert len(list(profiles.iterdir())) == 1  # kept
        monkeypatch.setattr(cache, "versions", lambda: "press changed")  # kept all the same
        with office.waiting(soffice):
            waiting = office._instance
            assert waiting is not None and waiting.process.poll() is None
            assert office._listens(waiting)  # started
            ours = os.getpriority(os.PRIO_PROCESS, 0)
            lower = min(19, ours + office.NICE)  # beside the PDF's layout it takes what is left
            assert os.getpriority(os.PRIO_PROCESS, waiting.process.pid) == lower
            if office._mimalloc():  # where the system has it, it allocates with mimalloc
                maps = Path(f"/proc/{waiting.process.pid}/maps").read_text()
                assert "libmimalloc" in maps
            second, third = (to_pdfs([noted], soffice)[0] for _ in range(2))  # the third: own
        assert waiting.process.returncode == 0  # it converted, then ended by itself
        assert not waiting.folder.exists()
        assert len(list(profiles.iterdir())) == 1
        with office.waiting(soffice):  # never asked: stopped with the block
            unused = office._instance
            assert unused is not None and unused.process.poll() is None
        assert unused.process.returncode is not None and not unused.folder.exists()
    assert office._instance is None
    pages = [len(pdfium.PdfDocument(pdf)) for pdf in (first, second, third)]
    assert pages[0] == pages[1] == pages[2] > 10


@needs_office
def test_the_build_starts_libreoffice_before_the_writers_for_the_word_edition(
    copy_root, tmp_path, monkeypatch
) -> None:
    """It takes a second to start: started before the writers, it is ready when the Word
    edition's conversion is handed to it. Not started when the Word edition is cached."""
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "share")
    office.make_template(command() or "")
    folder, said, main_process = copy_root("embedded"), tmp_path / "said", os.getpid()
    taken, waiting = office._taken, office.waiting

    def spied_taken() -> object:
        instance = taken()
        with said.open("a") as out:  # from the Word edition's process
            out.write(f"handed over: {instance is not None}\n")
        return instance

    @contextlib.contextmanager
    def spied_waiting(soffice: str | None) -> Iterator[None]:
        with said.open("a") as out:
            out.write(f"started: {soffice is not None}, here: {os.getpid() == main_process}\n")
        with waiting(soffice):
            yield

    monkeypatch.setattr(office, "_taken", spied_taken)
    monkeypatch.setattr(office, "waiting", spied_waiting)
    assert main([str(folder), "--format", "docx,html", "--no-check", "-q"]) == 0
    assert said.read_text().splitlines() == ["started: True, here: True", "handed over: True"]
    said.unlink()
    assert main([str(folder), "--format", "docx,html", "-q"]) == 0  # the check: a new build
    assert not said.exists()


@needs_office
def test_a_report_without_a_profile_of_its_own_starts_from_the_machines(
    noted: bytes, tmp_path, monkeypatch
) -> None:
    """`make` keeps a profile for this machine's LibreOffice: a report's first build then
    has one to wait with, and does not make its own."""
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "share")
    soffice = command() or ""
    template = office.make_template(soffice)
    assert template.parent == tmp_path / "share" and template.read_bytes().startswith(b"PK")
    assert office.make_template(soffice) == template  # made once
    with cache.using(cache.Cache(tmp_path / "report")):
        with office.waiting(soffice):
            waiting = office._instance
            assert waiting is not None  # from the machine's profile
            pdf = to_pdfs([noted], soffice)[0]
        assert waiting.process.returncode == 0
    assert len(pdfium.PdfDocument(pdf)) > 10
    assert not (tmp_path / "report" / ".cache" / "office-profile").exists()  # not copied in


@needs_office
def test_libreoffice_runs_its_first_start_tests_once_not_at_every_conversion(
    tmp_path, monkeypatch
) -> None:
    """A kept profile notes LibreOffice's version as started: without the note it ran its
    graphics rendering tests at every start, headless, half of its processor time."""
    monkeypatch.setattr(office, "TEMPLATES", tmp_path / "share")
    soffice = command() or ""
    (tmp_path / "one.txt").write_text("One line.\n")
    with zipfile.ZipFile(office.make_template(soffice)) as package:
        package.extractall(tmp_path / "settled")
    shutil.copytree(tmp_path / "settled", tmp_path / "unsettled")
    noted = re.compile(
        r'<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion"'
        r' oor:op="fuse"><value>\d+\.\d+</value></prop></item>'
    )
    for kind in ("settled", "unsettled"):
        user = tmp_path / kind / "user"
        registry = (user / "registrymodifications.xcu").read_text()
        assert noted.search(registry)
        if kind == "unsettled":
            (user / "registrymodifications.xcu").write_text(noted.sub("", registry))
        (user / "GraphicsRenderTests.log").unlink()  # written by the tests, each time they run
        office._converted(soffice, tmp_path / kind, [tmp_path / "one.txt"])
        assert (tmp_path / "one.pdf").is_file()
    assert not (tmp_path / "settled" / "user" / "GraphicsRenderTests.log").exists()
    assert (tmp_path / "unsettled" / "user" / "GraphicsRenderTests.log").exists()


def test_a_conversion_is_not_handed_to_an_instance_that_does_not_listen(
    tmp_path, monkeypatch
) -> None:
    """Handed over before the waiting LibreOffice listens, a conversion would start a second
    instance on its profile: it waits for the pipe, and without one converts on its own."""
    waiting = office._Instance(process=None, folder=tmp_path)  # type: ignore[arg-type]
    monkeypatch.setattr(office, "_instance", waiting)
    monkeypatch.setattr(office, "LISTENING", 0.05)
    assert office._taken() is None
    assert not (tmp_path / "taken").exists()  # still there for a conversion once it listens
    pipe = office._pipe(tmp_path / "profile")
    pipe.touch()
    try:
        assert office._taken() is waiting
        assert (tmp_path / "taken").exists()
    finally:
        pipe.unlink()
