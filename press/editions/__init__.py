"""One writer per format behind one small interface, registered by name.

A writer takes the one processed :class:`~press.citations.Document` (inside a
:class:`Job`) and writes its edition to the path it is given; it never runs
citeproc again. Adding a format means one module and one line in ``EDITIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from press.citations import Document
from press.config import Config
from press.design import Design


@dataclass(frozen=True)
class Job:
    """Everything a writer may use: the settings, the processed document, the design."""

    config: Config
    document: Document
    design: Design


class Edition(Protocol):
    name: str
    suffix: str

    def write(self, job: Job, target: Path) -> str:
        """Write the edition to ``target`` (a staging path; the caller renames it).

        Returns a few words on what was written, such as ``24 pages``.
        """
        ...


def _registry() -> dict[str, Edition]:
    from press.editions.docx import DocxEdition
    from press.editions.html import HtmlEdition
    from press.editions.pdf import PdfEdition

    editions: dict[str, Edition] = {}
    for edition in (PdfEdition(), DocxEdition(), HtmlEdition()):
        if edition.name in editions:
            raise ValueError(f"edition '{edition.name}' registered twice")
        editions[edition.name] = edition
    return editions


EDITIONS: dict[str, Edition] = _registry()
