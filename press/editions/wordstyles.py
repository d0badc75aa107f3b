"""The Word reference document, generated from the design values.

Starts from pandoc's own reference.docx (so every style pandoc's writer uses is
present) and sets fonts, sizes, colours and spacing from :class:`Design`, the
same values the CSS reads. Nothing here is edited by hand.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor
from docx.styles.style import BaseStyle

from press import pandoc
from press.design import Design


@dataclass(frozen=True)
class Look:
    font: str
    size: str
    colour: str = "text"
    bold: bool | None = None
    before: float | None = None
    after: float | None = None
    keep_with_next: bool = False


PARAGRAPH_STYLES: dict[str, Look] = {
    "Normal": Look("body", "body"),
    "Body Text": Look("body", "body"),
    "First Paragraph": Look("body", "body"),
    "Compact": Look("body", "body", after=2),
    "Title": Look("heading", "title", "heading", True, 150, 12),
    "Subtitle": Look("heading", "subtitle", "heading", False, 0, 12),
    "Author": Look("body", "body", "muted", False, after=2),
    "Date": Look("body", "body", "muted", False, after=12),
    "Organisation": Look("body", "body", "muted", False, after=2),
    "Header": Look("heading", "small", "muted", after=0),
    "Footer": Look("heading", "small", "muted", after=0),
    "TOC Heading": Look("heading", "h1", "heading", True, 0, 12),
    "toc 1": Look("body", "body", after=4),
    "toc 2": Look("body", "body", after=2),
    "toc 3": Look("body", "body", after=2),
    "Abstract": Look("body", "small"),
    "Heading 1": Look("heading", "h1", "heading", True, keep_with_next=True),
    "Heading 2": Look("heading", "h2", "heading", True, keep_with_next=True),
    "Heading 3": Look("heading", "h3", "heading", True, keep_with_next=True),
    "Block Text": Look("body", "body", "text"),
    "Bibliography": Look("body", "bibliography", after=4),
    "Footnote Text": Look("body", "footnote"),
    "Caption": Look("body", "small", "muted"),
    "Table Caption": Look("body", "small", "muted"),
    "Image Caption": Look("body", "small", "muted"),
}


# Word's own ids for its built-in styles, so Word treats ours as those styles.
STYLE_IDS = {"toc 1": "TOC1", "toc 2": "TOC2", "toc 3": "TOC3", "TOC Heading": "TOCHeading"}


def reference_docx(design: Design) -> bytes:
    """A reference.docx whose styles carry the design."""
    default = pandoc.run(["--print-default-data-file", "reference.docx"], b"", place="docx styles")
    document = docx.Document(io.BytesIO(default))
    styles = document.styles
    for name, look in PARAGRAPH_STYLES.items():
        if name in styles:
            style = styles[name]
        else:
            style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.element.set(qn("w:styleId"), STYLE_IDS.get(name, name.replace(" ", "")))
            style.base_style = styles["Normal"]
            style.quick_style = True
        _apply(style, look, design)
    styles["Heading 1"].paragraph_format.page_break_before = True
    for name in ("Title", "Subtitle", "Author", "Date", "Organisation"):
        styles[name].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    styles["toc 1"].font.bold = True
    styles["toc 2"].paragraph_format.left_indent = Pt(12)
    styles["toc 3"].paragraph_format.left_indent = Pt(24)
    if "Bibliography" in styles:
        fmt = styles["Bibliography"].paragraph_format
        fmt.left_indent = Pt(24)
        fmt.first_line_indent = Pt(-24)
    if "Hyperlink" in styles:
        styles["Hyperlink"].font.color.rgb = _rgb(design.colours["link"])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _apply(style: BaseStyle, look: Look, design: Design) -> None:
    families = design.fonts[look.font]
    font = style.font  # type: ignore[attr-defined]
    font.name = families[0]
    fonts = font.element.rPr.find(qn("w:rFonts")) if font.element.rPr is not None else None
    if fonts is not None:
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        fonts.set(qn("w:eastAsia"), families[-1])
        fonts.set(qn("w:cs"), families[0])
    font.size = Pt(design.sizes[look.size])
    font.color.rgb = _rgb(design.colours[look.colour])
    if look.bold is not None:
        font.bold = look.bold
    fmt = style.paragraph_format  # type: ignore[attr-defined]
    spacing = design.spacing
    heading = look.keep_with_next
    default_before = spacing["heading-before"] if heading else 0
    default_after = spacing["heading-after"] if heading else spacing["paragraph"]
    fmt.space_before = Pt(look.before if look.before is not None else default_before)
    fmt.space_after = Pt(look.after if look.after is not None else default_after)
    if not heading:
        fmt.line_spacing = design.line_height if look.size in ("body", "bibliography") else None
    fmt.keep_with_next = heading or None


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#").upper())
