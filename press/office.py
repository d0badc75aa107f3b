"""LibreOffice, where this machine has it: found, started early, converting Word packages to
PDF (the Word edition's check, and the layout its contents' page numbers come from).

LibreOffice takes about a second to start, most of it the system loading its libraries. For
a report that is not long the build starts it before the writers (:func:`waiting`, from
:meth:`~press.editions.docx.DocxEdition.ahead`), and the Word edition's conversion is handed
to that instance by LibreOffice's own single-instance pipe: a second ``soffice`` with the
same profile passes its command line to the first, which converts and then, headless with
nothing left open, exits. 0.2 s instead of 1.0 s for the embedded report. Should the
instance be gone, the second ``soffice`` starts one itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from press import cache, turns
from press.errors import BuildError, Problem

PLACE = "docx edition"
TIMEOUT = 180
TEMPLATES = Path(sys.prefix) / "share" / "press"
"""Where ``make`` keeps a profile made for this machine's LibreOffice (``python -m
press.office``), for reports whose cache has none yet: a new profile costs 0.3 s of a
conversion (LibreOffice makes it and starts again), and none waits on it (:func:`waiting`)."""


PROFILE_KIND = "settled\n"
"""Changed when the profiles made change (:func:`_settled`), so that none kept before is used."""


def command() -> str | None:
    """LibreOffice's command, if this machine has it."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _program(soffice: str) -> Path:
    """The folder of LibreOffice's program (``soffice`` is a link to it on Debian)."""
    return Path(soffice).resolve().parent


def version(soffice: str) -> str:
    """LibreOffice's build, from the version file beside its program (its path else)."""
    program = _program(soffice)
    for name in ("versionrc", "version.ini"):
        if (program / name).is_file():
            return (program / name).read_text(encoding="utf-8", errors="replace")
    return str(program)


@dataclass(frozen=True)
class _Instance:
    process: subprocess.Popen[bytes]
    folder: Path
    """Its profile (``profile/``, a kept one unpacked) and, once a conversion has been handed
    to it, ``taken``."""


_instance: _Instance | None = None


@contextlib.contextmanager
def waiting(soffice: str | None) -> Iterator[None]:
    """While the block runs, a LibreOffice instance (``soffice``'s, if given) waits for the
    first :func:`to_pdfs` of this process or of those forked from it. Ended with the block
    if still waiting. Only with a profile kept (the report's, or the one make keeps for the
    machine, :data:`TEMPLATES`): on a new one LibreOffice starts, makes it, and starts
    again, and a conversion handed over in between started an instance of its own on the
    same profile (the waiting one then failed, and once LibreOffice crashed); :func:`to_pdfs`
    makes and keeps one. It runs at a lower priority (:data:`NICE`)."""
    global _instance
    if soffice is None or _instance is not None:
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="press-office-"))
    if not _profile(soffice, folder / "profile"):
        shutil.rmtree(folder, ignore_errors=True)
        yield
        return
    process = subprocess.Popen(
        [*_niced(), *_command(soffice, folder / "profile")],
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # in this process's group: a build stopped stops it too
    _instance = _Instance(process, folder)
    try:
        yield
    finally:
        _instance = None
        taken = (folder / "taken").exists()
        _ended(process, patience=5 if taken else 0)  # one that converted is on its way out
        _pipe(folder / "profile").unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


NICE = 5
"""How much lower than the build's the waiting instance's priority is. A short report's Word
edition is converted beside the PDF's layout, the build's longest path, and so takes what
the layout leaves of the processor: the embedded report's cold build 1.5% and 3.6% shorter
in two alternating comparisons in one tree, 10 and 16 rounds (2.05 -> 2.02 s, 2.06 -> 1.98;
at 19, 2.02), 1% longer in a third between two trees (2.03 -> 2.05): at the edge of what the
machine's drift lets one see; x10 the same, 9.57 s, its cold peak 484-506 -> 558-572 MiB
(LibreOffice holds its memory longer beside the layout; a long report starts no waiting
instance)."""


def _niced() -> list[str]:
    """The command that starts a program at :data:`NICE` (none where there is no ``nice``)."""
    program = shutil.which("nice")
    return [program, "-n", str(NICE)] if program else []


def to_pdfs(documents: list[bytes], soffice: str) -> list[bytes]:
    """Each document laid out and converted by LibreOffice, all in one run of it (it takes
    a second to start, unless one is :func:`waiting`); raises if it cannot convert one."""
    if not documents:
        return []
    with tempfile.TemporaryDirectory(prefix="press-office-") as tmp:
        folder = Path(tmp)
        sources = [folder / f"edition-{i}.docx" for i in range(len(documents))]
        for source, data in zip(sources, documents, strict=True):
            source.write_bytes(data)
        instance = _taken()
        if instance is not None:
            profile, kept = instance.folder / "profile", True
        else:
            profile = folder / "profile"
            kept = _profile(soffice, profile)
        targets = _converted(soffice, profile, sources)
        if not kept:  # made by this run: kept for the next
            cache.active().put("office-profile", _profile_name(soffice), _settled(soffice, profile))
        return [target.read_bytes() for target in targets]


def _converted(soffice: str, profile: Path, sources: list[Path]) -> list[Path]:
    """``sources`` converted to PDF beside them, by one run of LibreOffice with ``profile``
    (taking its turn); raises if it cannot convert one."""
    command = [*_command(soffice, profile), "--convert-to", "pdf"]
    try:
        with turns.turn():
            done = subprocess.run(
                [*command, "--outdir", str(sources[0].parent), *map(str, sources)],
                env=_environment(),
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )
    except subprocess.TimeoutExpired:
        message = f"LibreOffice took over {TIMEOUT} s"
        raise BuildError([Problem(PLACE, None, message, "docx.office")]) from None
    targets = [source.with_suffix(".pdf") for source in sources]
    if done.returncode != 0 or not all(target.is_file() for target in targets):
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise BuildError(
            [Problem(PLACE, None, f"LibreOffice cannot convert it: {message}", "docx.office")]
        )
    return targets


def _command(soffice: str, profile: Path) -> list[str]:
    return [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore"]


def _pipe(profile: Path) -> Path:
    """The socket by which an instance with ``profile`` takes the command lines of the next
    ``soffice``: LibreOffice makes it in /tmp, named by its user and the MD5 of the profile's
    URL (in UTF-16, each byte in hex without a leading zero), and removes it when it ends
    by itself, not when stopped."""
    digest = hashlib.md5(profile.as_uri().encode("utf-16-le"), usedforsecurity=False).digest()
    name = "".join(f"{byte:x}" for byte in digest)
    return Path("/tmp") / f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{name}"


def _environment() -> dict[str, str]:
    """LibreOffice's environment:

    - glibc's allocator asks for huge pages where the system gives them when asked (Debian's
      default, "madvise"). Most of LibreOffice's start was the kernel handing it 200 MiB in
      4 KiB pages: 0.6 s of system time of the 0.9 s it took to convert the embedded report,
      0.1-0.25 with this (its memory the same).
    - Where the system has mimalloc (Debian's libmimalloc2.0, with the test tools: see the
      Makefile), LibreOffice allocates with it: laying out is mostly allocating, and the
      x50 Word edition's conversion took 4.7-4.9 s instead of 5.4 (in the same memory);
      the embedded report's the same.
    - The PDF it writes is not compressed: only its outline and page count are read
      (:mod:`press.editions.wordlayout`), and deflating 630 pages took 0.3 s of the x50
      conversion.

    With both, the x50 copies' cold build: 37.8 -> 37.2 s, its Word edition 11.0 -> 10.2 s
    (medians of 4 alternating builds, in a slow hour), the peak the same (663 MiB)."""
    environment = dict(os.environ)
    _append(environment, "GLIBC_TUNABLES", "glibc.malloc.hugetlb=1")
    environment["VCL_DEBUG_DISABLE_PDFCOMPRESSION"] = "1"
    if mimalloc := _mimalloc():
        _append(environment, "LD_PRELOAD", str(mimalloc))
    return environment


def _append(environment: dict[str, str], name: str, item: str) -> None:
    """``item`` after those of the colon-separated list ``name`` (set if there is none)."""
    items = [i for i in environment.get(name, "").split(":") if i]
    environment[name] = ":".join([*items, item])


def _mimalloc() -> Path | None:
    """Debian's mimalloc, where installed (its multiarch library folder)."""
    multiarch = sysconfig.get_config_var("MULTIARCH")
    if not sys.platform.startswith("linux") or not multiarch:
        return None
    library = Path("/usr/lib") / multiarch / "libmimalloc.so.2"
    return library if library.is_file() else None


LISTENING = 3.0
"""Seconds a conversion waits for the waiting instance to listen for command lines (its pipe
appears 0.1 s after it starts on an idle machine; a build hands it the Word edition later)."""


def _taken() -> _Instance | None:
    """The waiting instance, if it listens and no conversion has been handed to it yet (by
    any process). One handed over before the instance listened started an instance of its own
    on the same profile, and the waiting one failed (a test under load, once)."""
    if _instance is None or not _listens(_instance):
        return None  # a conversion of its own, on a profile of its own
    try:
        os.close(os.open(_instance.folder / "taken", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:  # taken, and gone or going: a second conversion starts its own
        return None
    return _instance


def _listens(instance: _Instance) -> bool:
    """Whether ``instance`` listens for command lines, waiting up to :data:`LISTENING` s."""
    pipe, since = _pipe(instance.folder / "profile"), time.monotonic()
    while not pipe.exists():
        if time.monotonic() - since > LISTENING:
            return False
        time.sleep(0.01)
    return True


def _ended(process: subprocess.Popen[bytes], patience: float) -> None:
    """The instance ended, stopped if it still runs after ``patience`` seconds (its
    launcher ends the office process it started when told to end)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(patience)
        return
    for stop in (process.terminate, process.kill):
        stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
            return


def _profile(soffice: str, profile: Path) -> bool:
    """The kept profile unpacked to ``profile`` (the report's, else this machine's); whether
    there was one."""
    data = cache.active().get("office-profile", _profile_name(soffice))
    if data is None and _template(soffice).is_file():
        data = _template(soffice).read_bytes()
    return _unpacked(data, profile)


def _profile_name(soffice: str) -> str:
    """The name of a profile for this LibreOffice, in the report's cache and the machine's:
    its version and :data:`PROFILE_KIND` alone (unlike the cache's keys, not press's own
    source, on which a profile does not depend: a report keeps its profile when press
    changes)."""
    return hashlib.sha256((PROFILE_KIND + version(soffice)).encode()).hexdigest()[:16]


def _template(soffice: str) -> Path:
    """The machine's profile for this LibreOffice."""
    return TEMPLATES / f"office-profile-{_profile_name(soffice)}.zip"


def make_template(soffice: str) -> Path:
    """This machine's profile for ``soffice``, made by converting a one-line document once
    (kept as it is if made before)."""
    target = _template(soffice)
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="press-office-") as tmp:
        folder = Path(tmp)
        (folder / "first.txt").write_text("A first conversion.\n", encoding="utf-8")
        _converted(soffice, folder / "profile", [folder / "first.txt"])
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(_settled(soffice, folder / "profile"))
        partial.replace(target)
    for older in target.parent.glob("office-profile-*.zip"):  # for another LibreOffice, or kind
        if older != target:
            older.unlink(missing_ok=True)
    return target


def _settled(soffice: str, profile: Path) -> bytes:
    """A profile LibreOffice has made, packed (:func:`_packed`) with its version noted as
    the last one started. LibreOffice runs its 109 graphics rendering tests at the start
    after an install or upgrade, and notes the version only when its window shows what is
    new, which headless it never does: on a profile without the note the tests ran at every
    start, half of LibreOffice's processor time for the embedded report (1.0-1.3 CPU-s
    against 0.5-0.6, the PDF the same)."""
    registry = profile / "user" / "registrymodifications.xcu"
    release = _release(soffice)
    if release is not None and registry.is_file():
        noted = (
            '<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion"'
            f' oor:op="fuse"><value>{release}</value></prop></item>\n'
        )
        text = registry.read_text(encoding="utf-8")
        if "ooSetupLastVersion" not in text and "</oor:items>" in text:
            registry.write_text(text.replace("</oor:items>", noted + "</oor:items>"), "utf-8")
    return _packed(profile)


def _release(soffice: str) -> str | None:
    """LibreOffice's release (``7.4``), as its own configuration gives it."""
    main = _program(soffice).parent / "share" / "registry" / "main.xcd"
    try:
        text = main.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r'<prop oor:name="ooSetupVersion">\s*<value>([\d.]+)</value>', text)
    return found[1] if found else None


def _packed(profile: Path) -> bytes:
    """A LibreOffice user profile as one file for the cache: the next run need not make
    one (0.12 s of every run)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for path in sorted(profile.rglob("*")):
            if path.is_file() and not path.name.startswith(".lock"):
                package.write(path, path.relative_to(profile).as_posix())
    return out.getvalue()


def _unpacked(data: bytes | None, profile: Path) -> bool:
    """Whether a kept profile was unpacked to ``profile`` (else LibreOffice makes one)."""
    if data is None:
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            package.extractall(profile)
        return True
    except (zipfile.BadZipFile, OSError, ValueError):  # damaged: made again, and kept
        shutil.rmtree(profile, ignore_errors=True)
        return False


if __name__ == "__main__":  # make: a profile for this machine's LibreOffice, if it has one
    found = command()
    if found:
        try:
            print(f"LibreOffice's profile for the Word edition: {make_template(found)}")
        except (OSError, BuildError) as exc:  # LibreOffice is optional: said, not failed
            print(f"LibreOffice's profile not made ({exc}): each report makes its own")
