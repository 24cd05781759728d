"""The exceptions that become one ``error: ...`` line, and the errno naming they share."""

from __future__ import annotations

import errno
import os


class PslError(Exception):
    """A failure the user caused or can fix: shown as one ``error:`` line."""

    errno: int | None = None  # the OSError's errno behind it, where there was one


class UsageError(PslError):
    """A command line that does not fit the command's syntax."""


class Terminated(SystemExit):
    """The shell was told to end (SIGTERM, SIGHUP): no handler may swallow it."""


class Timeout(PslError):
    """A blocking command ran out of time; the message says what was buffered."""


def describe_oserror(exc: OSError) -> str:
    """Render an OSError as 'strerror (ENAME)', the form every error line uses."""
    code = exc.errno
    reason = exc.strerror or str(exc)
    if code is None:
        return reason
    name = errno.errorcode.get(code, str(code))
    return f"{reason or os.strerror(code)} ({name})".replace("\n", " ")
