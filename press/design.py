"""Design values (``styles/design.yaml``): one source for the CSS and the Word styles."""

from __future__ import annotations

import base64
import hashlib
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from press import resources
from press.errors import BuildError, Problem

DESIGN_FILE = "design.yaml"


@dataclass(frozen=True)
class FontFile:
    family: str
    weight: int
    style: str
    path: Path


@dataclass(frozen=True)
class Design:
    fonts: dict[str, tuple[str, ...]]
    font_files: tuple[FontFile, ...]
    sizes: dict[str, float]
    line_height: float
    spacing: dict[str, float]
    colours: dict[str, str]

    def css_variables(self) -> str:
        """The design as CSS custom properties on ``:root``."""
        lines = [
            f"  --font-{role}: {_stack(families, role)};" for role, families in self.fonts.items()
        ]
        lines += [f"  --size-{name}: {value}pt;" for name, value in self.sizes.items()]
        lines += [f"  --space-{name}: {value}pt;" for name, value in self.spacing.items()]
        lines += [f"  --colour-{name}: {value};" for name, value in self.colours.items()]
        lines.append(f"  --line-height: {self.line_height};")
        return ":root {\n" + "\n".join(lines) + "\n}\n"

    def missing_glyphs(self, text: str) -> list[str]:
        """Characters of ``text`` that none of the shipped fonts can draw."""
        covered: set[int] = set()
        for font in self.font_files:
            covered |= _cmap(font.path)
        wanted = {c for c in text if not c.isspace() and unicodedata.category(c)[0] != "C"}
        return sorted(c for c in wanted if ord(c) not in covered)

    def font_faces(self, source: Callable[[FontFile], str]) -> str:
        """``@font-face`` rules, with ``source(font)`` giving each file's ``src`` value."""
        rules = []
        for font in self.font_files:
            rules.append(
                "@font-face {\n"
                f'  font-family: "{font.family}";\n'
                f"  font-weight: {font.weight};\n"
                f"  font-style: {font.style};\n"
                f"  src: {source(font)};\n"
                "}\n"
            )
        return "".join(rules)


def load_design(folder: Path) -> Design:
    """The built-in design, with the report's ``styles/design.yaml`` laid over it."""
    data: dict[str, Any] = {}
    for path in resources.layers(folder, "styles", DESIGN_FILE):
        shown = resources.shown(path, folder)
        try:
            layer = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            raise BuildError(
                [Problem(shown, line, f"cannot read design: {exc}", "design.read")]
            ) from None
        if not isinstance(layer, dict):
            raise BuildError([Problem(shown, 1, "expected a mapping", "design.type")])
        data = _merge(data, layer)
    try:
        files = tuple(
            FontFile(
                str(f["family"]),
                int(f["weight"]),
                str(f["style"]),
                resources.find(folder, "styles", "fonts", str(f["file"])),
            )
            for f in data["font-files"]
        )
        return Design(
            fonts={k: tuple(v) for k, v in data["fonts"].items()},
            font_files=files,
            sizes={k: float(v) for k, v in data["sizes"].items()},
            line_height=float(data["line-height"]),
            spacing={k: float(v) for k, v in data["spacing"].items()},
            colours={k: str(v) for k, v in data["colours"].items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        message = f"design values incomplete or of the wrong type: {exc}"
        raise BuildError([Problem(f"styles/{DESIGN_FILE}", None, message, "design.type")]) from None


def subset_font(font: FontFile, characters: set[str], flavor: str | None = None) -> bytes | None:
    """The font cut down to ``characters`` (TrueType, or ``woff``); None if it has none."""
    wanted = sorted(ord(c) for c in characters if ord(c) in _cmap(font.path))
    if not wanted:
        return None
    from press import cache

    store = cache.active()
    digest = cache.key("font", _file_hash(font.path), wanted, flavor)
    hit = store.get("fonts", digest)
    if hit is not None:
        return hit
    import uharfbuzz as hb  # here, not with the modules that read the report (imported
    from fontTools.ttLib import TTFont  # meanwhile by the PDF edition's preload)

    # HarfBuzz subsets in a millisecond what fontTools' subsetter took 0.1-0.2 s for.
    wanted_set = hb.SubsetInput()
    for codepoint in wanted:
        wanted_set.unicode_set.add(codepoint)
    for kind in (hb.SubsetInputSets.LAYOUT_FEATURE_TAG, hb.SubsetInputSets.NAME_ID):
        every = wanted_set.sets(kind)  # every feature, every name (the licence, too)
        every.clear()
        every.invert()
    wanted_set.flags = hb.SubsetFlags.NOTDEF_OUTLINE
    data = bytes(hb.subset(hb.Face(hb.Blob.from_file_path(str(font.path))), wanted_set).blob.data)
    if flavor:
        ttf = TTFont(io.BytesIO(data), recalcTimestamp=False)  # equal inputs, equal bytes
        ttf.flavor = flavor
        out = io.BytesIO()
        ttf.save(out)
        data = out.getvalue()
    store.put("fonts", digest, data)
    return data


@cache
def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_url(font: FontFile) -> str:
    return f'url("{font.path.as_uri()}")'


def data_url(data: bytes, mime: str = "font/woff") -> str:
    return f'url("data:{mime};base64,{base64.b64encode(data).decode("ascii")}")'


@cache
def _cmap(path: Path) -> frozenset[int]:
    """The characters the font draws (HarfBuzz reads them in under a millisecond; fontTools
    took 0.13 s for the seven shipped fonts)."""
    import uharfbuzz as hb

    return frozenset(hb.Face(hb.Blob.from_file_path(str(path))).unicodes)


def _stack(families: tuple[str, ...], role: str) -> str:
    generic = "sans-serif" if "sans" in " ".join(families).lower() or role == "heading" else "serif"
    return ", ".join(f'"{f}"' for f in families) + f", {generic}"


def _merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
