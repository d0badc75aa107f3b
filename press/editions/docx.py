"""DOCX edition: pandoc's docx writer with a reference document made from the design."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from press import pandoc
from press.editions import Job
from press.editions.wordstyles import reference_docx
from press.templating import long_date


class DocxEdition:
    name = "docx"
    suffix = ".docx"

    def write(self, job: Job, target: Path) -> str:
        config = job.config
        meta = {"title": config.title, "lang": config.language}
        if config.subtitle:
            meta["subtitle"] = config.subtitle
        if config.date:
            meta["date"] = long_date(config.date, config.language)
        args = ["--from", "json", "--to", "docx", "--output", str(target)]
        for key, value in meta.items():
            args += ["--metadata", f"{key}={value}"]
        for author in config.authors:
            args += ["--metadata", f"author={author}"]
        with tempfile.TemporaryDirectory(prefix="press-docx-") as tmp:
            reference = Path(tmp) / "reference.docx"
            reference.write_bytes(reference_docx(job.design))
            args += ["--reference-doc", str(reference)]
            pandoc.run(args, json.dumps(job.document.ast), place="docx edition")
        return f"{target.stat().st_size // 1024} KiB"
