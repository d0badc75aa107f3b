"""Style preview: the report's own citations and bibliography in several styles, side by side.

One self-contained HTML page, so a publisher chooses a style by looking at
their own sources rather than at a style's sample text.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from press import pandoc
from press.build import Options, citation_locale, prepare, staged
from press.citations import Document, resolve
from press.config import Config

SAMPLE_CITATIONS = 8


def write_preview(folder: Path, styles: list[str], output: Path | None = None) -> Path:
    config, resolved, parsed = prepare(Options(folder=folder, styles=styles, formats=["html"]))
    columns = []
    for style in resolved:
        document = resolve(parsed, style, citation_locale(config, style))
        columns.append(_column(document))
    page = _page(config, columns)
    target_dir = (output or config.folder / "output").resolve()
    with staged(target_dir) as stage:
        (stage / "style-preview.html").write_text(page, encoding="utf-8")
    return target_dir / "style-preview.html"


def _column(document: Document) -> str:
    style = document.style
    cites = [n for n in pandoc.walk(document.blocks) if n["t"] == "Cite"][:SAMPLE_CITATIONS]
    refs = next(
        n for n in pandoc.walk(document.blocks) if n["t"] == "Div" and n["c"][0][0] == "refs"
    )
    sample = [{"t": "Para", "c": _note_text(cite)} for cite in cites]
    kind = "note style: citations become footnotes" if style.note else "in-text citations"
    return (
        f'<section class="style"><h2>{html.escape(style.title)}</h2>'
        f'<p class="name"><code>{html.escape(style.name)}</code> · {kind} · '
        f"locale {html.escape(document.locale)}</p>"
        f'<h3>Citations</h3><div class="cites">{_html(document, sample)}</div>'
        f"<h3>Bibliography</h3>{_html(document, [refs])}</section>"
    )


def _note_text(cite: pandoc.Node) -> list[pandoc.Node]:
    """A citation as the reader sees it: for a note style, the text of its footnote."""
    notes = [n for n in pandoc.walk(cite["c"][1]) if n["t"] == "Note"]
    if not notes:
        return [cite]
    return [i for block in notes[0]["c"] if block["t"] in ("Para", "Plain") for i in block["c"]]


def _html(document: Document, blocks: list[pandoc.Node]) -> str:
    doc = {**document.ast, "meta": {}, "blocks": blocks}
    args = ["--from", "json", "--to", "html5", "--wrap", "none"]
    return pandoc.run(args, json.dumps(doc), place="style preview").decode("utf-8")


def _page(config: Config, columns: list[str]) -> str:
    title = html.escape(config.title)
    return f"""<!DOCTYPE html>
<html lang="{config.language}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Citation styles for {title}</title>
<style>
body {{ font-family: Georgia, serif; margin: 1.5rem; color: #1b1b1b; }}
h1 {{ font-family: system-ui, sans-serif; font-size: 1.4rem; }}
.grid {{ display: grid; grid-template-columns: repeat({len(columns)}, minmax(22rem, 1fr));
         gap: 1.5rem; overflow-x: auto; }}
.style {{ border-top: 3px solid #16324f; padding-top: .5rem; font-size: .9rem; }}
.style h2 {{ font-family: system-ui, sans-serif; font-size: 1.05rem; margin: 0; }}
.name {{ color: #595959; font-size: .8rem; }}
.cites p {{ margin: .3rem 0; overflow-wrap: anywhere; }}
.csl-entry {{ clear: both; margin: 0 0 .5rem; overflow-wrap: anywhere; }}
.hanging-indent .csl-entry {{ padding-left: 1.5em; text-indent: -1.5em; }}
.csl-left-margin {{ float: left; min-width: 2.5em; }}
.csl-right-inline {{ margin-left: 2.5em; }}
.footnote-ref, section.footnotes {{ display: none; }}
</style></head>
<body><h1>Citation styles for <cite>{title}</cite></h1>
<p>The first {SAMPLE_CITATIONS} citations of the report and its whole bibliography, per style.
Set <code>citation-style</code> in report.yaml to the name under the style you choose.</p>
<div class="grid">{"".join(columns)}</div>
</body></html>
"""
