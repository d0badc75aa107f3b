"""The DOCX package checked before it is written to ``output/``.

Structure: every part a relationship names is in the package and has a content type
(python-docx wrote it, so opening it again would prove nothing). Layout: where
LibreOffice is installed, it converts the document to PDF, which both proves that an
office suite can read it and tells on which page each heading falls (for the table of
contents; :mod:`press.editions.wordlayout`).
"""

from __future__ import annotations

import io
import posixpath
import time
import zipfile
from collections.abc import Mapping

from lxml import etree

from press.config import source_date_epoch
from press.errors import BuildError, Problem

PLACE = "docx edition"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def check_package(data: bytes) -> None:
    """Raise when a relationship points at a missing part or a part has no content type."""
    problems = []
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BuildError(
            [Problem(PLACE, None, f"not a ZIP package: {exc}", "docx.package")]
        ) from None
    names = set(package.namelist())
    types = etree.fromstring(package.read("[Content_Types].xml"))
    defaults = {d.get("Extension").lower() for d in types.iter(f"{TYPES}Default")}
    overrides = {o.get("PartName").lstrip("/") for o in types.iter(f"{TYPES}Override")}
    for name in names:
        if name.endswith("/") or name == "[Content_Types].xml":
            continue
        if name not in overrides and name.rsplit(".", 1)[-1].lower() not in defaults:
            problems.append(f"part {name} has no content type")
    for rels in (n for n in names if n.endswith(".rels")):
        base = posixpath.dirname(posixpath.dirname(rels))
        for rel in etree.fromstring(package.read(rels)).iter(f"{RELS}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            target = posixpath.normpath(posixpath.join(base, rel.get("Target", "")))
            if target.lstrip("/") not in names:
                problems.append(f"{rels} names missing part /{target.lstrip('/')}")
    if problems:
        raise BuildError(Problem(PLACE, None, p, "docx.package") for p in problems)


def stable_zip(data: bytes, parts: Mapping[str, bytes] | None = None) -> bytes:
    """The package with fixed member dates, so equal inputs give equal bytes, and with
    ``parts`` (name -> bytes) in place of its own."""
    moment = time.gmtime(max(source_date_epoch() or 0, 315532800))  # ZIP dates start in 1980
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            fixed = zipfile.ZipInfo(item.filename, date_time=moment[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            replaced = (parts or {}).get(item.filename)
            target.writestr(fixed, source.read(item) if replaced is None else replaced)
    return out.getvalue()
