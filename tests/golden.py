"""Golden files: the embedded report's citations and bibliography in each tested style.

Regenerate after an intended change (a new style version, a content edit) with

    make golden        # or: .venv/bin/python -m tests.golden

and review the diff before committing it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from press import extract
from press.build import Options, Result, build
from press.resources import TOOL_ROOT

GOLDEN = Path(__file__).parent / "golden"
STYLES = (
    "apa",
    "chicago-author-date",
    "chicago-notes-bibliography",
    "ieee",
    "harvard-cite-them-right",
    "modern-language-association",
    "nlm-citation-sequence",
    "nature",
    "american-medical-association",
)


def golden_text(html: extract.EditionText) -> str:
    """What a golden file holds: in-text citations, notes and bibliography, one per line."""
    parts = ["## citations", *(c for c in html.citations if c), "## footnotes", *html.footnotes]
    parts += ["## bibliography", *html.bibliography]
    return "\n".join(parts) + "\n"


def build_styles(output: Path) -> Result:
    return build(Options(folder=TOOL_ROOT, styles=list(STYLES), output=output))


def main() -> None:
    with tempfile.TemporaryDirectory() as out:
        result = build_styles(Path(out))
        for item in result.written:
            if item.format == "html":
                path = GOLDEN / f"{item.style}.txt"
                path.write_text(golden_text(extract.from_html(item.path)), encoding="utf-8")
                print(f"wrote {path.relative_to(TOOL_ROOT)}")


if __name__ == "__main__":
    main()
