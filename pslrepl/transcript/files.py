"""A transcript's files: read and checked as one, written back whole, its embedded files."""

from __future__ import annotations

from pslrepl.transcript.syntax import parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.transcript.syntax import EmbeddedFile


class TranscriptFileError(OSError):
    """A file that can't be checked or updated as a transcript: its message (strerror)
    says why and what to do. An OSError, so the command line reports it as one line with
    exit status 2, as it does a file it can't read."""

    def __init__(self, message: str) -> None:
        super().__init__(0, message)


def write_embedded(tmp: str, file: EmbeddedFile) -> str:
    """Write an embedded file under a session's fresh {tmp} (0600, never through a
    link: {tmp} is new and each part is made here); what went wrong, or ''. --present and
    --export-py may write a transcript's files with it too."""
    import os

    from pslrepl.errors import describe_oserror

    *folders, name = file.name.split("/")
    dir_fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for folder in folders:
            try:
                os.mkdir(folder, 0o700, dir_fd=dir_fd)
            except FileExistsError:
                pass
            inner = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = inner
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(file.text)
    except OSError as exc:
        return f"can't write embedded file {file.name} in {{tmp}}: {describe_oserror(exc)}"
    finally:
        os.close(dir_fd)
    return ""


def read_transcript(path: str, *, writing: bool = False) -> str:
    """A transcript file's text; TranscriptFileError saying what is wrong with it (not
    there, a directory, not UTF-8, no commands; for ``writing``, a symbolic link)."""
    import errno
    import os

    from pslrepl.errors import describe_oserror

    if writing and os.path.islink(path):
        raise TranscriptFileError(
            f"it is a symbolic link (to {os.readlink(path)}); --update won't write through "
            "one: give the file it points to"
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise TranscriptFileError("no such file; give the path of a .psl transcript") from None
        if exc.errno == errno.EISDIR:
            raise TranscriptFileError(f"it is a directory; give the transcripts in it, like "
                                      f"{os.path.join(path, '*.psl')}") from None  # fmt: skip
        raise TranscriptFileError(describe_oserror(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TranscriptFileError(
            f"line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}); a transcript "
            "is UTF-8: write a byte in output as a \\xNN escape in a (re) line"
        ) from None
    transcript = parse(text)
    if text.startswith("\ufeff") and (not transcript.steps or text[1:].startswith("psl>")):
        raise TranscriptFileError("it starts with a byte order mark (BOM), so its first "
                                  "line reads as no command: save it as UTF-8 without a "
                                  "BOM")  # fmt: skip
    if not transcript.steps:
        what = "it holds no commands (no line starts 'psl> ')" if text.strip() else "it is empty"
        raise TranscriptFileError(f"{what}: `record FILE` in the shell writes a transcript")
    from pslrepl.transcript.directives import read_directives

    try:
        read_directives(transcript)
    except ValueError as exc:
        raise TranscriptFileError(str(exc)) from None
    return text


def replace_whole(path: str, text: str) -> None:
    """Write ``text`` as ``path`` whole or not at all: a new file renamed over the old one
    (a full disk leaves the old one as it was; a symbolic link put there since is
    replaced, never written through). The file keeps its mode."""
    import os
    import tempfile

    from pslrepl.errors import describe_oserror

    folder = os.path.dirname(path) or "."
    tmp = ""
    try:
        mode = os.lstat(path).st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fd, mode)
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise TranscriptFileError(f"can't write it: {describe_oserror(exc)}") from None
