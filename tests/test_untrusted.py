"""Content is untrusted input: nothing read or fetched from outside, no crash on any input."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from press.build import Options, build
from press.cli import main
from press.errors import BuildError
from press.resources import TOOL_ROOT
from tests.conftest import ROOTS, put


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    """A local HTTP server that records every request it gets."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], requests
    httpd.shutdown()
    httpd.server_close()


def test_nothing_outside_is_read_or_fetched(copy_root, tmp_path, server, capsys) -> None:
    port, requests = server
    folder = copy_root()
    (folder / "content" / "03-hostile.md").write_text(
        "# Hostile\n\n"
        f'<img src="http://127.0.0.1:{port}/pixel.png" alt="tracker">\n\n'
        "<script>fetch('/etc/passwd')</script>\n\n"
        '<iframe src="file:///etc/hostname"></iframe>\n\n'
        f'Some <span style="background: url(http://127.0.0.1:{port}/b.png)">styled</span>.\n\n'
        f"[a link](javascript:alert(1)) and [a file](file:///etc/hostname).\n\n"
        f'<a href="#" onclick="alert(1)">click</a>\n'
    )
    out = tmp_path / "out"
    assert main([str(folder), "--output", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: removed unsafe HTML") == 7, err  # <iframe> and </iframe>
    assert "content/03-hostile.md:3: warning: removed unsafe HTML" in err
    time.sleep(0.2)
    assert requests == []
    for edition in out.iterdir():
        data = edition.read_bytes()
        for needle in (b"127.0.0.1", b"fetch(", b"javascript:", b"onclick", b"<iframe"):
            assert needle not in data, (edition.name, needle)
    page = (out / "briefing.html").read_bytes()
    assert page.count(b"<script") == 1  # only the edition's own (it folds the contents on phones)


def test_local_files_are_refused(copy_root, tmp_path, capsys) -> None:
    folder = copy_root()
    outlook = folder / "content" / "02-outlook.md"
    outlook.write_text(
        outlook.read_text() + "\n![](/etc/passwd)\n\n![](file:///etc/hostname)\n\n"
        "{% include '/etc/passwd' %}\n"
    )
    out = tmp_path / "out"
    assert main([str(folder), "--output", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "[source.template.include]" in err  # Jinja cannot include outside the folder
    assert "root:" not in err
    outlook.write_text(outlook.read_text().replace("{% include '/etc/passwd' %}\n", ""))
    assert main([str(folder), "--output", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "content/02-outlook.md:9: error: image '/etc/passwd' is outside the report folder" in err
    assert "content/02-outlook.md:11: error: image 'file:///etc/hostname' is not a file" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_jinja_is_sandboxed(copy_root, tmp_path, capsys) -> None:
    folder = copy_root()
    outlook = folder / "content" / "02-outlook.md"
    outlook.write_text(outlook.read_text() + "\n{{ report.__class__.__mro__ }}\n")
    assert main([str(folder), "--format", "html", "--output", str(tmp_path), "-q"]) == 1
    assert "[source.template" in capsys.readouterr().err


@pytest.mark.parametrize("epoch", ["1730764800", None])  # else the date in report.yaml
def test_all_three_editions_are_reproducible(tmp_path, monkeypatch, epoch) -> None:
    if epoch:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    else:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    for run in ("a", "b"):  # each from scratch, a clock second apart (fonts carry a date)
        build(Options(folder=ROOTS / "minimal", output=tmp_path / run, cache=False))
        time.sleep(1.1)
    for name in ("briefing.pdf", "briefing.docx", "briefing.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_disk_full_while_writing(copy_root, tmp_path, monkeypatch, capsys) -> None:
    folder = copy_root()
    assert main([str(folder), "-q"]) == 0
    before = {p.name: p.read_bytes() for p in (folder / "output").iterdir()}
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if self.suffix == ".docx":
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    assert main([str(folder), "-q", "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert "error: cannot write the editions: No space left on device [output.write]" in err
    assert {p.name: p.read_bytes() for p in (folder / "output").iterdir()} == before


def test_output_folder_not_writable(copy_root, tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main([str(copy_root()), "--output", str(blocker / "out"), "-q"]) == 1
    assert "[output.unwritable]" in capsys.readouterr().err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_killed_build_leaves_no_temporary_files(copy_root, sig: int) -> None:
    folder = copy_root("embedded")
    # As from a terminal: a shell's background job (nohup, `&`) has SIGINT ignored, and a
    # program started from it keeps ignoring it, as POSIX wants.
    ignored = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, str(TOOL_ROOT / "build.py"), str(folder), "-q"],
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(TOOL_ROOT)},
        )
    finally:
        signal.signal(signal.SIGINT, ignored)
    output = folder / "output"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(output.glob(".press-*/*")):
        time.sleep(0.02)  # wait until an edition is being written into the stage
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode in (130, -sig), err
    assert b"Traceback" not in err
    assert list(output.glob(".press-*")) == []
    assert not [p for p in output.iterdir() if p.suffix in (".pdf", ".docx", ".html")]


MARKDOWN = st.text(
    alphabet=st.sampled_from(list("abc XYZ\n#*_[]@{}%<>!()-:;`~^|'\"\\=/.0123456789장é")),
    max_size=300,
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    markdown=MARKDOWN,
    config=st.just({}) | st.dictionaries(
        st.sampled_from(["title", "lang", "authors", "date", "formats", "pdf", "page",
                         "variables", "citation-style", "keywrods"]), VALUES, max_size=4),
    entries=st.lists(
        st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "c"]), "type": st.just("book")},
                              optional={"title": VALUES, "issued": VALUES, "author": VALUES})
        | st.dictionaries(st.sampled_from(["id", "type", "title", "issued", "author"]), VALUES,
                          max_size=5),
        max_size=3),
)  # fmt: skip
def test_random_input_fails_cleanly_or_builds(markdown, config, entries, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("random")
    (folder / "content").mkdir()
    (folder / "content" / "01.md").write_text(markdown, encoding="utf-8")
    (folder / "content" / "references.json").write_text(json.dumps(entries), encoding="utf-8")
    import yaml

    (folder / "report.yaml").write_text(yaml.safe_dump({"title": "T", **config}), encoding="utf-8")
    try:
        build(Options(folder=folder, formats=["html"]))
    except BuildError as exc:
        assert exc.problems and all(str(p) for p in exc.problems)


def test_weasyprint_reads_only_the_report_and_the_shipped_styles(
    copy_root, tmp_path, server, capsys
) -> None:
    port, requests = server
    folder = copy_root()
    shipped = (TOOL_ROOT / "styles" / "print.css").read_text()
    put(
        folder,
        "styles/print.css",
        shipped
        + f"\nbody {{ background: url(http://127.0.0.1:{port}/bg.png); }}\n"
        + "@font-face { font-family: Stolen; src: url(file:///etc/hostname); }\n"
        + "h1 { font-family: Stolen, serif; }\n",
    )
    assert main([str(folder), "--format", "pdf", "--output", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"refused to read http://127.0.0.1:{port}/bg.png" in err
    assert "refused to read file:///etc/hostname" in err
    assert requests == []
    assert not (tmp_path / "out" / "briefing.pdf").exists()
