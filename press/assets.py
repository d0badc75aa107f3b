"""Images: checked, read from the report folder only, and carried inside the document.

Every image a section refers to is resolved against the section's folder (then
the report folder), must stay inside the report folder and be PNG, JPEG, GIF
or SVG; it is then embedded as a ``data:`` URL, so every writer (pandoc in its
sandbox, WeasyPrint) gets the same bytes and the HTML edition needs no file
beside it. Remote images are refused: a build fetches nothing from the network.
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from press import pandoc
from press.config import Config
from press.errors import BuildError, Problem
from press.sources import Section

MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
        ".svg": "image/svg+xml"}  # fmt: skip
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF"}


def embed_images(
    doc: pandoc.Node, section: Section, config: Config
) -> tuple[pandoc.Node, list[Problem]]:
    """``doc`` with each image's target replaced by a ``data:`` URL, and the problems found."""
    problems: list[Problem] = []

    def embed(node: pandoc.Node) -> pandoc.Node:
        if node["t"] != "Image":
            return node
        target = node["c"][2][0]
        data, problem = _data_url(target, section, config)
        if problem:
            problems.append(problem)
            return node
        return {"t": "Image", "c": [node["c"][0], node["c"][1], [data, node["c"][2][1]]]}

    return {**doc, "blocks": pandoc.transform(doc["blocks"], embed)}, problems


def logo_url(config: Config) -> str | None:
    """The logo from report.yaml as a ``data:`` URL (checked like any image), or None."""
    if config.logo is None:
        return None
    problem = _check(config.logo, config.rel(config.logo))
    if problem:
        raise BuildError([Problem("report.yaml", None, f"logo: {problem[0]}", problem[1])])
    return _encode(config.logo)


def _check(path: Path, target: str) -> tuple[str, str] | None:
    """(message, code) when ``path`` is not an image press can embed."""
    mime = MIME.get(path.suffix.lower())
    if mime is None:
        kinds = ", ".join(sorted({s.lstrip(".").upper() for s in MIME}))
        return f"image '{target}': unsupported format (use {kinds})", "asset.format"
    if mime in PIL_FORMATS and not _is_image(path, PIL_FORMATS[mime]):
        return f"image '{target}' is not a valid {PIL_FORMATS[mime]} file", "asset.format"
    return None


def _encode(path: Path) -> str:
    mime = MIME[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _data_url(target: str, section: Section, config: Config) -> tuple[str, Problem | None]:
    def problem(message: str, code: str) -> tuple[str, Problem]:
        line = section.line_of(target)
        return target, Problem(section.shown, line, message, f"asset.{code}")

    parsed = urllib.parse.urlsplit(target)
    if parsed.scheme == "data":
        return target, None
    if parsed.scheme or target.startswith("//"):
        return problem(f"image '{target}' is not a file in the report folder", "remote")
    relative = urllib.parse.unquote(parsed.path)
    candidates = [(section.path.parent / relative).resolve(), (config.folder / relative).resolve()]
    path = next((p for p in candidates if p.is_file()), candidates[0])
    if not path.is_relative_to(config.folder):
        return problem(f"image '{target}' is outside the report folder", "outside")
    if not path.is_file():
        return problem(f"image '{target}' not found", "missing")
    bad = _check(path, target)
    if bad:
        return problem(bad[0], bad[1].removeprefix("asset."))
    return _encode(path), None


def _is_image(path: Path, kind: str) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()
            return image.format == kind
    except (UnidentifiedImageError, OSError, SyntaxError):
        return False
