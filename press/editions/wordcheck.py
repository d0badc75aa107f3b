"""The DOCX package checked before it is written to ``output/``.

Structure: every part a relationship names is in the package and has a content
type; python-docx opens it. Layout: where LibreOffice is installed, it converts
the document to PDF, which both proves that an office suite can read it and
tells on which page each heading falls (for the table of contents).
"""

from __future__ import annotations

import io
import posixpath
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import docx
from lxml import etree

from press import cache, turns
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
    try:
        docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for a broken package
        problems.append(f"python-docx cannot open it: {exc}")
    if problems:
        raise BuildError(Problem(PLACE, None, p, "docx.package") for p in problems)


def stable_zip(data: bytes) -> bytes:
    """The package with fixed member dates, so equal inputs give equal bytes."""
    moment = time.gmtime(max(source_date_epoch() or 0, 315532800))  # ZIP dates start in 1980
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            fixed = zipfile.ZipInfo(item.filename, date_time=moment[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(item))
    return out.getvalue()


def office() -> str | None:
    """LibreOffice's command, if this machine has it."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(data: bytes, soffice: str) -> bytes:
    """The document laid out and converted by LibreOffice; raises if it cannot convert."""
    return to_pdfs([data], soffice)[0]


def to_pdfs(documents: list[bytes], soffice: str) -> list[bytes]:
    """Each document laid out and converted by LibreOffice, all in one run of it (it takes
    a second to start); raises if it cannot convert one."""
    if not documents:
        return []
    with tempfile.TemporaryDirectory(prefix="press-office-") as tmp:
        folder = Path(tmp)
        sources = [folder / f"edition-{i}.docx" for i in range(len(documents))]
        for source, data in zip(sources, documents, strict=True):
            source.write_bytes(data)
        profile = folder / "profile"
        kept = cache.key("office-profile", office_version(soffice))
        reused = _unpacked(cache.active().get("office-profile", kept), profile)
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            *map(str, sources),
        ]
        try:
            with turns.turn():
                done = subprocess.run(command, capture_output=True, timeout=180, check=False)
        except subprocess.TimeoutExpired:
            raise BuildError(
                [Problem(PLACE, None, "LibreOffice took over 180 s", "docx.office")]
            ) from None
        targets = [source.with_suffix(".pdf") for source in sources]
        if done.returncode != 0 or not all(target.is_file() for target in targets):
            message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise BuildError(
                [Problem(PLACE, None, f"LibreOffice cannot convert it: {message}", "docx.office")]
            )
        if not reused:
            cache.active().put("office-profile", kept, _packed(profile))
        return [target.read_bytes() for target in targets]


def office_version(soffice: str) -> str:
    """LibreOffice's build, from the version file beside its program (its path else)."""
    program = Path(soffice).resolve().parent
    for name in ("versionrc", "version.ini"):
        if (program / name).is_file():
            return (program / name).read_text(encoding="utf-8", errors="replace")
    return str(program)


def _packed(profile: Path) -> bytes:
    """A LibreOffice user profile as one file for the cache: the next run need not make
    one (0.12 s of every run)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for path in sorted(profile.rglob("*")):
            if path.is_file() and not path.name.startswith(".lock"):
                package.write(path, path.relative_to(profile).as_posix())
    return out.getvalue()


def _unpacked(data: bytes | None, profile: Path) -> bool:
    """Whether a kept profile was unpacked to ``profile`` (else LibreOffice makes one)."""
    if data is None:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            package.extractall(profile)
        return True
    except (zipfile.BadZipFile, OSError, ValueError):  # damaged: made again, and kept
        shutil.rmtree(profile, ignore_errors=True)
        return False
