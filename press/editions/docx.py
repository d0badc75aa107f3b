"""DOCX edition: pandoc's docx writer with a reference document made from the design,
finished with a title page, a filled table of contents, page furniture and properties,
and checked as a package (and by LibreOffice, where installed) before it is written.
"""

from __future__ import annotations

import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from press import extract, office, pandoc, workers
from press.assets import logo_url
from press.editions import Job
from press.templating import long_date

TOC_DEPTH = 3


class DocxEdition:
    name = "docx"
    splits = False
    suffix = ".docx"
    libraries = ()

    def ahead(self, job: Job) -> AbstractContextManager[None]:
        """LibreOffice started before the writers, for the layout the contents' page numbers
        come from: it takes about a second to start, and a conversion handed to it takes 0.2
        s (a one-paragraph edit of the embedded report: 1.98 s, median of 8 runs, not 2.52
        when it was started once the package was finished). Not for a long report: its 200 MiB
        beside python-docx's and the PDF's layout made the build's peak (x50: 740 MiB
        instead of 680), and its start is 0.4 s of a minute; written alone, the edition
        starts it itself once pandoc has ended (:meth:`write`)."""
        return office.waiting(None if job.long else office.command())

    def rehearse(self, job: Job) -> None:
        """Nothing: its pandoc run beside citeproc's would be the build's peak."""

    def write(self, job: Job, target: Path) -> str:
        # python-docx is imported here, in the writer's process (0.1 s less before the
        # writers start; the PDF's layout waits for that)
        from press.editions.wordcheck import check_package, stable_zip
        from press.editions.wordlayout import heading_pages
        from press.editions.wordpages import data_of, finish, toc_pages
        from press.editions.wordstyles import reference_docx

        # Written alone (a long report's, after an edit: the PDF lays out its few chapters
        # first and the other editions wait for it), it has the machine to itself.
        alone = workers.alone()
        config = job.config
        meta = {"title": config.title, "lang": config.language}
        if config.subtitle:
            meta["subtitle"] = config.subtitle
        if config.date:
            meta["date"] = long_date(config.date, config.language)
        # The whole document in one run (a package is one piece), its heap compacted where
        # it runs beside the PDF's layout (x50: 260 MiB instead of 309; not for citeproc,
        # 36 s instead of 22), its old generation at least 128 MB (4 major collections, not
        # 12: x50 alone 1.07 s instead of 1.24, compacted 1.24 instead of 1.60; x1 the
        # same 0.08 s).
        args = ["--from", "json", "--to", "docx", "--output", "-"]
        args += ["+RTS", "-O128m", *([] if alone else ["-c"]), "-RTS"]
        for key, value in meta.items():
            args += ["--metadata", f"{key}={value}"]
        for author in config.authors:
            args += ["--metadata", f"author={author}"]
        with tempfile.TemporaryDirectory(prefix="press-docx-") as tmp:
            reference = Path(tmp) / "reference.docx"
            reference.write_bytes(reference_docx(job.design))
            args += ["--reference-doc", str(reference)]
            data = pandoc.run(args, job.document.json, place="docx edition")
        depth = min(job.config.pdf.toc_depth, TOC_DEPTH)
        detail = "no LibreOffice: contents without page numbers"
        soffice = office.command()
        # Alone, LibreOffice starts while the package is finished, once pandoc has ended
        # (beside pandoc the x50 edit's peak was 720 MiB, after it 567). With pandoc's heap
        # not compacted, the x50 one-paragraph edit's Word edition: 3.5 s, not 4.5-5.2.
        with office.waiting(soffice) if alone else nullcontext():
            data, entries = finish(data, config, job.design, data_of(logo_url(config)), depth)
            filled: dict[str, bytes] = {}
            if soffice:  # the parsed document freed meanwhile (x50: 100 MiB)
                pages, detail = heading_pages(data, [e.text for e in entries], soffice)
                if config.docx.toc_page_numbers:
                    numbered = zip(entries, pages, strict=True)
                    filled = toc_pages(data, {e.bookmark: p for e, p in numbered if p})
        data = stable_zip(data, filled)
        check_package(data)
        target.write_bytes(data)
        extract.docx_text(data)  # what the parity check will read
        return f"{len(data) // 1024} KiB, {detail}"
