"""The JUnit XML report --check --junit FILE writes, and where it may write it."""

from __future__ import annotations

import re

from pslrepl.transcript.checking import STATUS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.transcript.checking import Result

# Characters XML 1.0 can't hold at all: written as \xNN so the report stays readable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_xml(results: list[Result]) -> bytes:
    """A JUnit XML report: a test case per transcript, its diff in a failure."""
    import xml.etree.ElementTree as ET

    counts = {verdict: sum(r.verdict == verdict for r in results) for verdict in STATUS}
    total = sum(r.seconds for r in results)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name="pslrepl transcripts",
                          tests=str(len(results)), failures=str(counts["fail"]),
                          errors=str(counts["error"]), skipped=str(counts["skip"]),
                          time=f"{total:.3f}")  # fmt: skip
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="transcripts",
                             name=_xml_text(result.path), file=_xml_text(result.path),
                             time=f"{result.seconds:.3f}")  # fmt: skip
        first = result.out.split("\n", 1)[0] if result.out else result.err.strip()
        if result.verdict == "skip":
            reason = first.partition(": skip (")[2].rstrip(")")
            ET.SubElement(case, "skipped", message=_xml_text(reason))
        elif result.verdict == "fail":
            # CI shows only the message: the first FILE:LINE the report names
            where = result.out.split("\n")[1:2] or ["output differs from the transcript"]
            node = ET.SubElement(case, "failure", message=_xml_text(where[0]))
            node.text = _xml_text(result.out)
        elif result.verdict == "error":
            node = ET.SubElement(case, "error", message=_xml_text(first))
            node.text = _xml_text(result.out + result.err)
    ET.indent(suites)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "utf-8") + b"\n"


def _is_report(path: str) -> bool:
    """Whether the regular file at ``path`` is empty or a JUnit XML report (ours or
    another tool's): the only files --junit may replace."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        text = text.partition(b"?>")[2].lstrip()
    return not text or text.startswith((b"<testsuites", b"<testsuite"))


def report_problem(path: str, files: list[str] | None = None) -> str:
    """What is wrong with ``path`` as the place --junit writes its report, or '': asked
    before any transcript runs (a long run is not wasted on a report that can't be
    written) and again as it is written. Only an empty file or a JUnit report written
    before is replaced: a transcript or any other file of the user's (`--junit *.psl`,
    the report's name forgotten, once replaced the first transcript) is refused, and a
    device (/dev/null), a FIFO, a socket or a symbolic link at the path is refused, never
    replaced nor written through."""
    import os
    import stat
    import tempfile

    from pslrepl.errors import describe_oserror

    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return f"--junit {path}: can't write it: {describe_oserror(exc)}"
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            return f"--junit {path}: it is a directory; give a file name"
        if stat.S_ISLNK(mode):
            what = f"a symbolic link (to {os.readlink(path)})"
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            what = "a device"
        elif stat.S_ISFIFO(mode):
            what = "a FIFO (named pipe)"
        elif stat.S_ISSOCK(mode):
            what = "a socket"
        else:
            what = "not a regular file"
        return (f"--junit {path}: it is {what}; the report is written only as a regular "
                "file: give the path of a new file or of a report written before")  # fmt: skip
    if not path:
        return "--junit needs a FILE: give the report's name (e.g. --junit report.xml)"
    if mode is not None and not _is_report(path):
        same = files is not None and any(
            os.path.exists(f) and os.path.samefile(f, path) for f in files
        )
        if same or path.endswith(".psl"):
            what = "it is a transcript" + (" given to check" if same else "") + ", not a report"
        else:
            what = "it holds something other than a JUnit report"
        return (f"--junit {path}: {what}; it is left as it is: give the report's own name "
                "(e.g. --junit report.xml) or that of a report written before")  # fmt: skip
    folder = os.path.dirname(path) or "."
    try:  # a real try: a missing folder, no permission, a read-only file system
        fd, probe = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    except OSError as exc:
        return f"--junit {path}: can't write it: {describe_oserror(exc)}"
    os.close(fd)
    os.unlink(probe)
    return ""


def write_report(path: str, data: bytes) -> str:
    """Write ``data`` as ``path`` whole (a new file renamed over it: never written through
    a link, and only a regular file is replaced), 0600; what went wrong, or ''."""
    import os
    import tempfile

    from pslrepl.errors import describe_oserror

    problem = report_problem(path)
    if problem:
        return problem
    folder = os.path.dirname(path) or "."
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        problem = report_problem(path)  # put there while the report was written
        if problem:
            os.unlink(tmp)
            return problem
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return f"--junit {path}: can't write it: {describe_oserror(exc)}"
    return ""
