"""The HTML edition in a real browser (Debian's Chromium, driven by Playwright), offline."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import html

from tests.conftest import Built, put

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "output" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()


class Visit:
    """A page opened from disk with every request outside the file itself recorded and refused."""

    def __init__(self, browser, path: Path, width: int, scheme: str = "light") -> None:  # type: ignore[no-untyped-def]
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=scheme, offline=True
        )
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.failed: list[str] = []
        own = path.as_uri()

        def route(request_route) -> None:  # type: ignore[no-untyped-def]
            url = request_route.request.url
            if url.split("#")[0] == own or url.startswith("data:"):
                request_route.continue_()
            else:
                self.outside.append(url)
                request_route.abort()

        self.page.route("**/*", route)
        self.page.on("requestfailed", lambda request: self.failed.append(request.url))
        self.page.goto(own)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(params=[390, 1280], ids=["phone", "desktop"])
def visit(request, browser, report: Built) -> Iterator[Visit]:  # type: ignore[no-untyped-def]
    opened = Visit(browser, report.path("html"), request.param)
    yield opened
    opened.close()


def test_no_request_leaves_the_file(visit: Visit) -> None:
    visit.page.wait_for_load_state("networkidle")
    assert visit.outside == []
    assert visit.failed == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violation(browser, report: Built, scheme: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    for width in (390, 1280):
        opened = Visit(browser, report.path("html"), width, scheme)
        result = Axe().run(opened.page)
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        opened.close()
        assert serious == [], (width, scheme, serious)


def test_citation_link_scrolls_to_its_entry(browser, report: Built) -> None:
    opened = Visit(browser, report.path("html"), 1280)
    page = opened.page
    link = page.locator(".cite-anchor a[href^='#ref-']").first
    target = link.get_attribute("href")
    link.click()
    page.wait_for_function("() => window.scrollY > 1000")
    assert page.evaluate("location.hash") == target
    box = page.locator(target).bounding_box()
    assert box is not None and 0 <= box["y"] < 900, "the entry is on screen"
    opened.close()


def test_full_reference_on_focus(browser, report: Built) -> None:
    opened = Visit(browser, report.path("html"), 1280)
    page = opened.page
    anchor = page.locator(".cite-anchor").first
    tip = anchor.locator(".cite-tip")
    assert not tip.is_visible()
    anchor.locator("a").first.focus()
    assert tip.is_visible()
    assert tip.inner_text().startswith("www.nti.org. (n.d.). Retrieved November 5, 2024")
    opened.close()


def test_contents_fold_on_phones_and_stick_on_wide_screens(browser, report: Built) -> None:
    phone = Visit(browser, report.path("html"), 390)
    details = phone.page.locator("#toc-details")
    assert details.get_attribute("open") is None
    phone.page.locator("#toc-details summary").click()
    assert details.get_attribute("open") is not None
    phone.page.locator("#toc-details a").nth(4).click()
    assert details.get_attribute("open") is None  # closed again after a choice
    phone.close()
    wide = Visit(browser, report.path("html"), 1280)
    assert wide.page.locator(".toc").evaluate("e => getComputedStyle(e).position") == "sticky"
    wide.close()


def test_keyboard_reaches_the_skip_link_first(browser, report: Built) -> None:
    opened = Visit(browser, report.path("html"), 1280)
    page = opened.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    opened.close()


def test_screenshots_for_a_look_by_eye(browser, report: Built) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        for scheme in ("light", "dark"):
            opened = Visit(browser, report.path("html"), width, scheme)
            path = SCREENSHOTS / f"html-{width}px-{scheme}.png"
            opened.page.screenshot(path=str(path), full_page=False)
            opened.close()
            assert path.stat().st_size > 10_000


def test_markup_links_headings_and_metadata(report: Built) -> None:
    root = html.parse(str(report.path("html"))).getroot()
    entries = set(root.xpath("//*[@id='refs']/*/@id"))
    cited = root.xpath(
        "//span[contains(@class, 'cite-anchor')]//a[starts-with(@href, '#ref-')]/@href"
    )
    assert cited and all(h[1:] in entries for h in cited)
    assert entries == {h[1:] for h in cited}, "every entry is reachable from a citation"
    levels = [int(h.tag[1]) for h in root.xpath("//h1 | //h2 | //h3 | //h4 | //h5 | //h6")]
    assert levels[0] == 1 and root.xpath("count(//h1)") == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    assert root.xpath("//html/@lang") == ["en-US"]
    for landmark in ("header", "nav", "main", "footer"):
        assert root.xpath(f"count(//{landmark})") == 1, landmark
    meta = {m.get("name"): m.get("content") for m in root.xpath("//meta[@name]")}
    assert meta["citation_title"] == "North Korea's Missile Tests"
    assert meta["citation_author"] == "Policy Research Team"
    assert meta["citation_publication_date"] == "2024/11/05"
    assert meta["description"].startswith("How North Korea's missile tests")
    assert all(img.get("alt") for img in root.xpath("//img"))


def test_numbered_sections_in_every_edition(copy_root, tmp_path) -> None:
    from press import extract
    from press.cli import main

    folder = copy_root()
    report = folder / "report.yaml"
    report.write_text(report.read_text() + "number-sections: true\n")
    assert main([str(folder), "--output", str(tmp_path), "-q"]) == 0
    headings = ["1 Findings", "2 Outlook", "2.1 Next steps", "References"]
    assert extract.from_html(tmp_path / "briefing.html").headings == headings
    assert extract.from_docx(tmp_path / "briefing.docx").headings == headings
    pdf = extract.from_pdf(tmp_path / "briefing.pdf", extract.Reading(8.5, (71, 71)))
    assert pdf.headings == headings


def test_a_report_overrides_one_block(copy_root, tmp_path) -> None:
    from press.cli import main

    folder = copy_root()
    put(
        folder,
        "templates/web.html.j2",
        '{% extends "press/web.html.j2" %}\n'
        '{% block footer %}<footer class="page-footer"><p>Harbour Board, {{ samples }} samples'
        "</p></footer>{% endblock %}\n",
    )
    assert main([str(folder), "--format", "html", "--output", str(tmp_path), "-q"]) == 0
    root = html.parse(str(tmp_path / "briefing.html")).getroot()
    assert root.xpath("string(//footer)") == "Harbour Board, 128 samples"
    assert root.xpath("count(//nav)") == 1 and root.xpath("count(//main)") == 1  # the rest kept
