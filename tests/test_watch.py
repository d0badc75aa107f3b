"""Watch mode: a save rebuilds, the served page reloads, a broken build shows on the page."""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.request
from pathlib import Path

from press.cli import main
from press.watch import Watcher
from tests.conftest import ROOTS


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode("utf-8")


def wait_until(watcher: Watcher, ready, seconds: float = 30) -> dict:  # type: ignore[no-untyped-def]
    """Poll the status endpoint until ``ready(status, page)`` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = json.loads(get(watcher.url + "__press/status"))
        if status["version"] and ready(status, get(watcher.url)):
            return status
        time.sleep(0.2)
    raise AssertionError(f"not ready within {seconds} s")


def test_watch_rebuilds_and_serves(tmp_path: Path) -> None:
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    watcher = Watcher(folder, port=0, follow=False, quiet=True)
    watcher.start()
    try:
        wait_until(watcher, lambda s, page: not s["problems"] and "Harbour Water" in page)
        assert "/__press/status" in get(watcher.url)

        outlook = folder / "content" / "02-outlook.md"
        outlook.write_text(outlook.read_text().replace("stay low", "stay remarkably low"))
        wait_until(watcher, lambda s, page: "stay remarkably low" in page)

        findings = folder / "content" / "01-findings.md"
        findings.write_text(findings.read_text().replace("[@okafor2021]", "[@okafor2012]"))
        status = wait_until(watcher, lambda s, page: s["problems"])
        assert "unknown citation key 'okafor2012'" in status["problems"][0]
        page = get(watcher.url)
        assert 'role="alert"' in page and "okafor2012" in page
        assert "stay remarkably low" in page  # the last good edition stays on screen

        findings.write_text(findings.read_text().replace("[@okafor2012]", "[@okafor2021]"))
        wait_until(watcher, lambda s, page: not s["problems"] and 'role="alert"' not in page)
    finally:
        watcher.stop()


def test_the_pdf_and_docx_follow_and_their_failure_shows_too(tmp_path: Path, capsys) -> None:
    """Written in the background after the HTML edition, and said; a problem only they
    have (the print page's own template) shows in the terminal and on the page."""
    folder = tmp_path / "report"
    shutil.copytree(ROOTS / "minimal", folder)
    watcher = Watcher(folder, port=0)
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while "pdf, docx" not in capsys.readouterr().out and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {p.suffix for p in (folder / "output").iterdir()} == {".html", ".pdf", ".docx"}

        template = folder / "templates" / "print.html.j2"
        template.parent.mkdir()
        template.write_text(
            '{% extends "press/print.html.j2" %}\n{% block body %}{{ no_such_value }}{% endblock %}'
        )
        status = wait_until(watcher, lambda s, page: s["behind"], seconds=60)
        assert not status["problems"]  # the HTML edition is fine
        assert "templates/print.html.j2:2: error: undefined variable" in status["behind"][0]
        page = get(watcher.url)
        assert "The PDF and DOCX editions were not written." in page and "no_such_value" in page
        assert "templates/print.html.j2:2: error" in capsys.readouterr().err

        template.unlink()
        wait_until(watcher, lambda s, page: not s["behind"] and 'role="alert"' not in page, 60)
    finally:
        watcher.stop()


def test_a_port_in_use_is_said_not_a_crash(capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main([str(ROOTS / "minimal"), "--watch", "--port", str(port)]) == 1
    said = capsys.readouterr().err.splitlines()
    assert said[0] == (
        f"command line: error: cannot serve on 127.0.0.1:{port}: Address already in use"
        " (another --port, or 0 for any) [watch.port]"
    )
