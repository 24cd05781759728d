"""Files that hold TLS secrets (a key, a key log): made 0600, never through a symbolic
link planted at their path, and only as regular files of the user's own."""

from __future__ import annotations

import errno
import os

from pslrepl.errors import PslError


def _directory_fd(directory: str, *, make: bool = True) -> int:
    """The directory, made (0700, its parents too) if missing and ``make``; not a
    private_dir: it may be the user's own /tmp or project, whose permissions are not ours
    to change."""
    if make:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def check_writable(directory: str, name: str, *, what: str) -> bool:
    """Before writing several files: DIRECTORY/NAME may be written (no link there, nor
    anything but a regular file of ours). True if a file is there (it will be replaced)."""
    path = os.path.join(directory, name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise _refused(what, path, exc) from None
    import stat

    if stat.S_ISLNK(st.st_mode):
        raise _refused(what, path, OSError(errno.ELOOP, "a symbolic link"))
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        raise PslError(f"{what}: {path} is not a regular file of yours: not replaced; "
                       "remove it or pick another place")  # fmt: skip
    return True


def write_private(directory: str, name: str, data: bytes, *, what: str, make: bool = False) -> str:
    """Write ``data`` to DIRECTORY/NAME, 0600, replacing a regular file of ours there; a
    missing DIRECTORY is made (0700) only when ``make`` (ca issue's folder of its own):
    a file the user names goes where they said, as open() would, or fails. Raises
    PslError saying why it can't (no such directory, a link, someone else's file...)."""
    from pslrepl.environment import open_private

    path = os.path.join(directory, name)
    if not name or os.path.isdir(path):  # export py /, export py docs/
        raise PslError(f"{what}: {path or directory} is a directory; give a file's name in "
                       "it, like session.py")  # fmt: skip
    try:
        dir_fd = _directory_fd(directory, make=make)
        try:
            fd = open_private(dir_fd, name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        finally:
            os.close(dir_fd)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise _refused(what, path, exc) from None
    return path


def _refused(what: str, path: str, exc: OSError) -> PslError:
    if exc.errno == errno.ELOOP:
        return PslError(f"{what}: {path} is a symbolic link: not written through it; remove "
                        "the link or pick another place")  # fmt: skip
    if exc.errno in (errno.EPERM, errno.EINVAL) and exc.strerror:
        return PslError(f"{what}: {path}: {exc.strerror}; pick another place")
    from pslrepl.errors import describe_oserror

    if exc.errno == errno.ENOENT:
        folder = os.path.dirname(path)
        return PslError(f"{what}: can't write {path}: the directory {folder} does not "
                        "exist; make it first (sh mkdir -p DIR) or pick another place")  # fmt: skip
    return PslError(f"{what}: can't write {path}: {describe_oserror(exc)}")


def prepare_keylog(raw: str) -> str:
    """`set tls-keylog FILE`: the file made 0600 (or an existing one of ours made so),
    never through a link. Its absolute path, or '' for off."""
    from pslrepl.environment import open_private

    if raw in ("", "off"):
        return ""
    path = os.path.abspath(os.path.expanduser(raw))
    directory, name = os.path.split(path)
    if not name:
        raise PslError(f"tls-keylog: {raw!r} is a directory; give a file, like "
                       "/tmp/keys.log (lines are added to it)")  # fmt: skip
    if not os.path.isdir(directory):  # a typo would make directories anywhere
        raise PslError(f"tls-keylog: {directory} is no directory; make it first, or pick "
                       "another place")  # fmt: skip
    try:
        dir_fd = _directory_fd(directory, make=False)
        try:
            fd = open_private(dir_fd, name, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        finally:
            os.close(dir_fd)
        os.close(fd)
    except OSError as exc:
        raise _refused("tls-keylog", path, exc) from None
    return path


def still_private(path: str) -> bool:
    """Before a context opens the key log (ssl's fopen follows links): it is, or is made
    again, a regular 0600 file of ours; False, and it is left alone, if it can't be."""
    try:
        return prepare_keylog(path) == path
    except PslError:
        return False
