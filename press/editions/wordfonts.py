"""The shipped fonts embedded in the DOCX, so Word and LibreOffice lay it out in them.

Word keeps embedded fonts as obfuscated parts (ECMA-376 Part 1, 17.8.1): the
first 32 bytes of the font XORed with a key taken from a GUID, listed in
``word/fontTable.xml``. Each font is first subset to the characters the
document uses, as the PDF and HTML editions do.
"""

from __future__ import annotations

import hashlib
import uuid

from docx.document import Document as DocxDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part, XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsmap, qn
from lxml import etree

from press.design import Design, subset_font

OBFUSCATED = "application/vnd.openxmlformats-officedocument.obfuscatedFont"
KINDS = {(400, "normal"): "embedRegular", (700, "normal"): "embedBold",
         (400, "italic"): "embedItalic", (700, "italic"): "embedBoldItalic"}  # fmt: skip
# What may stand before w:embedTrueTypeFonts in w:settings (the schema fixes the order).
_SETTINGS_BEFORE = (
    "writeProtection", "view", "zoom", "removePersonalInformation", "removeDateAndTime",
    "doNotDisplayPageBoundaries", "displayBackgroundShape", "printPostScriptOverText",
    "printFractionalCharacterWidth", "printFormsData",
)  # fmt: skip


def embed_fonts(document: DocxDocument, design: Design) -> None:
    """Embed every shipped font the Word styles name, subset to the document's characters."""
    characters = _characters(document)
    table_part = next(
        (rel.target_part for rel in document.part.rels.values() if rel.reltype == RT.FONT_TABLE),
        None,
    )
    if table_part is None:
        return
    table = parse_xml(table_part.blob)
    families = {family for stack in design.fonts.values() for family in stack}
    for index, font in enumerate(f for f in design.font_files if f.family in families):
        kind = KINDS.get((font.weight, font.style))
        data = subset_font(font, characters)
        if kind is None or data is None:
            continue
        key = "{" + str(uuid.UUID(hashlib.md5(data).hexdigest())).upper() + "}"
        part = Part(
            PackURI(f"/word/fonts/font{index + 1}.odttf"),
            OBFUSCATED,
            obfuscate(data, key),
            document.part.package,
        )
        r_id = table_part.relate_to(part, RT.FONT)
        entry = _font_entry(table, font.family)
        embed = OxmlElement(f"w:{kind}")
        embed.set(qn("r:id"), r_id)
        embed.set(qn("w:fontKey"), key)
        entry.append(embed)
    table_part._blob = _xml(table)
    _turn_on(document)


def obfuscate(data: bytes, key: str) -> bytes:
    """XOR the font's first 32 bytes with the GUID's bytes in reverse order (17.8.1)."""
    guid = bytes.fromhex(key.strip("{}").replace("-", ""))[::-1]
    out = bytearray(data)
    for i in range(32):
        out[i] ^= guid[i % 16]
    return bytes(out)


_TEXT = etree.XPath("//w:t/text()", namespaces={"w": nsmap["w"]}, smart_strings=False)


def _characters(document: DocxDocument) -> set[str]:
    """Every character of the document's text, headers, footers and notes; and the digits. A
    part python-docx has parsed is read as it is (its ``blob`` is the part serialized: at x50
    the body's 4 MB written and parsed again, 0.09 s)."""
    text: set[str] = set("0123456789")
    for part in document.part.package.iter_parts():
        if part.partname.endswith(".xml") and "/word/" in part.partname:
            root = part.element if isinstance(part, XmlPart) else parse_xml(part.blob)
            text.update("".join(_TEXT(root)))
    return text


def _font_entry(table, family: str):  # type: ignore[no-untyped-def]
    for entry in table.iterchildren(qn("w:font")):
        if entry.get(qn("w:name")) == family:
            return entry
    entry = OxmlElement("w:font")
    entry.set(qn("w:name"), family)
    table.append(entry)
    return entry


def _turn_on(document: DocxDocument) -> None:
    settings = document.settings.element
    if settings.find(qn("w:embedTrueTypeFonts")) is not None:
        return
    flag = OxmlElement("w:embedTrueTypeFonts")
    before = [c for c in settings if c.tag in {qn(f"w:{n}") for n in _SETTINGS_BEFORE}]
    if before:
        before[-1].addnext(flag)
    else:
        settings.insert(0, flag)
    subset_flag = OxmlElement("w:saveSubsetFonts")
    flag.addnext(subset_flag)


def _xml(element) -> bytes:  # type: ignore[no-untyped-def]
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", standalone=True)
