"""Watch mode: rebuild on every save and serve the HTML edition on localhost, live.

The HTML edition is rebuilt first (seconds, thanks to the cache) and the open page
reloads itself; the PDF and DOCX follow in a separate process in the background, and
the terminal says when they are written. A failed build (the HTML edition's, or the
PDF and DOCX editions' behind it) shows its problems in the terminal and on the page,
over the last good edition, and the watcher keeps going.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import watchfiles

from press.build import Options, build
from press.cache import SKIPPED
from press.errors import BuildError, Problem
from press.resources import TOOL_ROOT

RELOAD = """<script>
/* press watch mode: reload when a new build is ready. */
(function () {
  var seen = %d;
  setInterval(function () {
    fetch("/__press/status").then(function (r) { return r.json(); }).then(function (s) {
      if (s.version !== seen) { location.reload(); }
    }).catch(function () {});
  }, 700);
})();
</script>"""


EDITIONS = ("pdf edition", "docx edition")
"""Where the background build's own warnings are (a problem's place starts its line)."""


@dataclass
class State:
    version: int = 0
    problems: list[str] = field(default_factory=list)
    """The HTML edition's build failed: why (the page is the last good one)."""
    behind: list[str] = field(default_factory=list)
    """The PDF and DOCX editions' build failed: why."""
    page: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Watcher:
    """Builds ``folder`` now and on each change, serving its HTML edition on 127.0.0.1:port."""

    def __init__(self, folder: Path, port: int = 8000, follow: bool = True, quiet: bool = False):
        self.folder = folder.resolve()
        self.follow = follow
        self.quiet = quiet
        self.state = State()
        self.stop_event = threading.Event()
        try:
            self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.state))
        except (OSError, OverflowError) as exc:  # taken, or no port at all
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            message = f"cannot serve on 127.0.0.1:{port}: {reason} (another --port, or 0 for any)"
            raise BuildError([Problem("command line", None, message, "watch.port")]) from None
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.background: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Serve, build once, and watch in background threads (for tests and embedding)."""
        self._spawn(self.server.serve_forever)
        self.rebuild()
        self._spawn(self._watch)

    def run(self) -> int:
        """The command line's watch: serve and rebuild until Ctrl-C."""
        self._spawn(self.server.serve_forever)
        self._say(f"serving {self.url} (Ctrl-C to stop); watching {self.folder}")
        self.rebuild()
        try:
            self._watch()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
        return 0

    def stop(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        self._stop_background()

    def rebuild(self) -> None:
        try:
            result = build(Options(self.folder, formats=["html"], check=False))
        except BuildError as exc:
            lines = [str(p) for p in exc.problems]
            for line in lines:
                print(line, file=sys.stderr)
            with self.state.lock:
                self.state.problems = lines
                self.state.version += 1
            return
        page = next(w.path for w in result.written if w.format == "html")
        with self.state.lock:
            self.state.page = page
            self.state.problems = []
            self.state.version += 1
        self._say(f"html  {result.seconds:.1f} s  (reloaded)")
        if self.follow:
            self._follow()

    def _follow(self) -> None:
        """The PDF and DOCX editions, in their own process, in the background (one still
        building for an earlier save is stopped: it would write what is no longer there)."""
        self._stop_background()
        command = [sys.executable, str(TOOL_ROOT / "build.py"), str(self.folder), "-q"]
        process = subprocess.Popen(
            [*command, "--format", "pdf,docx"], stderr=subprocess.PIPE, text=True
        )
        self.background = process
        self._spawn(lambda: self._followed(process, time.perf_counter()))

    def _followed(self, process: subprocess.Popen[str], started: float) -> None:
        """Said when the background build ends: written, or its problems, in the terminal
        and on the page (not for one stopped for a newer save)."""
        _, said = process.communicate()
        if process is not self.background:  # stopped ("interrupted: no edition was changed")
            return
        lines = [line for line in said.splitlines() if line]
        behind = [] if process.returncode == 0 else lines
        own = behind or [line for line in lines if line.startswith(EDITIONS)]
        for line in own:  # its problems, or its editions' own warnings (the HTML build said
            print(line, file=sys.stderr, flush=True)  # the others)
        if process.returncode == 0:
            self._say(f"pdf, docx  {time.perf_counter() - started:.1f} s  (written)")
        with self.state.lock:
            if behind != self.state.behind:
                self.state.behind = behind
                self.state.version += 1

    def _stop_background(self) -> None:
        process, self.background = self.background, None
        if process and process.poll() is None:
            process.terminate()
            process.wait()

    def _watch(self) -> None:
        def wanted(_change: watchfiles.Change, path: str) -> bool:
            parts = Path(path).relative_to(self.folder).parts
            return not any(p in SKIPPED or p.startswith(".") for p in parts)

        for _changes in watchfiles.watch(
            self.folder, watch_filter=wanted, stop_event=self.stop_event, debounce=200,
            rust_timeout=500, yield_on_timeout=False,
        ):  # fmt: skip
            self.rebuild()

    def _spawn(self, target) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)


def _handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/__press/status":
                with state.lock:
                    body = json.dumps({"version": state.version, "problems": state.problems,
                                       "behind": state.behind})  # fmt: skip
                self._send(200, "application/json", body.encode())
            elif self.path.split("?")[0] in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", self._page().encode("utf-8"))
            else:
                self._send(404, "text/plain", b"not found")

        def _page(self) -> str:
            with state.lock:
                version, page = state.version, state.page
                problems, behind = list(state.problems), list(state.behind)
            text = page.read_text(encoding="utf-8") if page and page.is_file() else ""
            if not text:
                text = "<!DOCTYPE html><html><body><main></main></body></html>"
            banner = ""
            if problems:
                banner = _banner("The build failed; this is the last good edition.", problems)
            elif behind:
                banner = _banner("The PDF and DOCX editions were not written.", behind)
            text = text.replace("<body>", "<body>" + banner, 1)
            return text.replace("</body>", (RELOAD % version) + "</body>", 1)

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


def _banner(heading: str, lines: list[str]) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        '<div role="alert" style="position:sticky;top:0;z-index:99;background:#8b1a1a;'
        'color:#fff;padding:1em 1.5em;font:14px/1.5 monospace">'
        f"<strong>{html.escape(heading)}</strong><ul>{items}</ul></div>"
    )
