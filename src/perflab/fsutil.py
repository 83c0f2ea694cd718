"""The one place perflab touches files it must not trust: private state, atomic writes, bounded reads.

perflab runs as root on production machines, so a state file is only as safe as the directory it sits
in. Every helper here works relative to a directory whose owner and mode were checked, opens with
``O_NOFOLLOW`` (a planted symlink is refused, never followed), creates with ``O_CREAT|O_EXCL`` and an
explicit mode (never left to the umask), and writes every byte or raises (a short write on a full disk is
an error, not a silent truncation). Readers of user input take a size limit and refuse character devices
and FIFOs where a file is expected (``/dev/zero`` would otherwise be read until the OOM killer comes).

Use these instead of ``open``/``Path.write_text`` for state, caches, exports and user-supplied files:

* :func:`ensure_private_dir` / :func:`open_dir`: a directory owned by this user (or root), not writable
  by group or others (unless sticky, like ``/tmp``); missing components are created 0700.
* :func:`open_private`: one file under a checked directory fd; owner, type and mode checked after open.
* :func:`write_all` / :func:`atomic_write`: all bytes written and fsynced, or an error and no file.
* :func:`read_bounded` / :func:`read_text_bounded`: user input with a size limit and a file-type check.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from perflab.errors import PerflabError

#: Default limit of a user-supplied input file (configs, profiles, imports): generous, but finite.
DEFAULT_INPUT_LIMIT = 64 * 1024 * 1024


class UnsafePathError(PerflabError):
    """A state or cache path another user could control (owner, mode, symlink, file type)."""


def _describe_mode(st: os.stat_result) -> str:
    return f"mode {stat.S_IMODE(st.st_mode):04o}"


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def trusted_owner(uid: int) -> bool:
    """Whether a file owned by ``uid`` may be trusted by this process: its own, or root's."""
    return uid in (os.geteuid(), 0)


def check_dir_stat(path: str | Path, st: os.stat_result, *, allow_sticky: bool = False) -> None:
    """Refuse a directory another user controls: not ours (or root's), or group/world-writable.

    A sticky world-writable directory owned by root (``/tmp``) is accepted only with ``allow_sticky``
    (an *ancestor* may be one; the directory perflab keeps its state in may not)."""
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{path}: not a directory")
    if not trusted_owner(st.st_uid):
        raise UnsafePathError(
            f"{path}: owned by {_owner_name(st.st_uid)}, not by you: refusing to trust it "
            f"({_describe_mode(st)})"
        )
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable and not (allow_sticky and st.st_mode & stat.S_ISVTX and st.st_uid == 0):
        raise UnsafePathError(
            f"{path}: writable by group or others ({_describe_mode(st)}, owner "
            f"{_owner_name(st.st_uid)}): refusing to trust it"
        )


def check_file_stat(path: str | Path, st: os.stat_result) -> None:
    """Refuse a state file that is not a regular file owned by us (or root) and private to its owner."""
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(f"{path}: not a regular file")
    if not trusted_owner(st.st_uid):
        raise UnsafePathError(
            f"{path}: owned by {_owner_name(st.st_uid)}, not by you: refusing to trust it "
            f"({_describe_mode(st)})"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafePathError(
            f"{path}: writable by group or others ({_describe_mode(st)}): refusing to trust it"
        )


def state_dir() -> Path:
    """perflab's private state directory: ``$PERFLAB_STATE_DIR`` or ``~/.local/state/perflab``, created
    0700 when missing, refused when another user owns it or can write it (see ``ensure_private_dir``)."""
    raw = os.environ.get("PERFLAB_STATE_DIR")
    return ensure_private_dir(Path(raw) if raw else Path.home() / ".local" / "state" / "perflab")


def ensure_private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 whatever the umask, then check it is ours.

    An existing directory is never chmod-ed: one with a wrong owner or mode is refused with a message
    naming both (pointing ``PERFLAB_STATE_DIR`` at ``/tmp`` must not make ``/tmp`` 0700)."""
    path = Path(os.path.abspath(path))
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe):
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made by a concurrent perflab: checked below like any existing directory
        except OSError as error:
            raise PerflabError(f"cannot create directory {directory}: {error.strerror}") from None
        os.chmod(directory, 0o700, follow_symlinks=False)  # the umask may have removed owner bits
    fd = open_dir(path)
    os.close(fd)
    return path


def open_dir(path: str | Path) -> int:
    """An ``O_DIRECTORY|O_NOFOLLOW`` fd of a checked private directory (caller closes it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if os.path.islink(path):
            raise UnsafePathError(f"{path}: is a symbolic link: refusing to follow it") from None
        raise PerflabError(f"{path}: {error.strerror}") from None
    try:
        check_dir_stat(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(
    dir_fd: int, name: str, flags: int, *, mode: int = 0o600, where: str | Path | None = None
) -> int:
    """Open ``name`` in the checked directory ``dir_fd`` without following symlinks.

    With ``os.O_CREAT`` the file gets exactly ``mode`` when this call creates it (``O_EXCL`` first, so
    creation is ours); an existing file must be a regular file owned by us (or root) and not writable by
    group or others. ``where`` names the file in messages."""
    label = where if where is not None else name
    base = flags | os.O_NOFOLLOW | os.O_CLOEXEC
    created = False
    try:
        if flags & os.O_CREAT:
            try:
                fd = os.open(name, base | os.O_EXCL, mode, dir_fd=dir_fd)
                created = True
            except FileExistsError:
                fd = os.open(name, base & ~os.O_CREAT, dir_fd=dir_fd)
        else:
            fd = os.open(name, base, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == 40:  # ELOOP: the last component is a symlink
            raise UnsafePathError(f"{label}: is a symbolic link: refusing to follow it") from None
        raise PerflabError(f"{label}: {error.strerror}") from None
    try:
        if created:
            os.fchmod(fd, mode)
        else:
            check_file_stat(label, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (a short write is retried; a full disk raises ``OSError``)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(28, "No space left on device")
        view = view[written:]


def fsync_dir(dir_fd: int) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory
        os.fsync(dir_fd)


def atomic_write(
    path: str | Path, data: bytes | str, *, mode: int = 0o600, private_dir: bool = False
) -> None:
    """Replace ``path`` with ``data`` all at once: a temporary file in the same directory, every byte
    written and fsynced, chmod ``mode``, renamed over the target, directory fsynced. On any error the
    temporary is removed and the old file is untouched; PerflabError names the path and the cause.

    Missing parents are created 0700; ``private_dir`` also checks the parent's owner and mode."""
    path = Path(os.path.abspath(path))
    payload = data.encode() if isinstance(data, str) else data
    parent = path.parent
    if private_dir or not parent.exists():
        ensure_private_dir(parent)
    try:
        dir_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise PerflabError(f"{parent}: {error.strerror}") from None
    tmp_name = f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        try:
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         mode, dir_fd=dir_fd)
        except OSError as error:
            raise PerflabError(f"cannot write {path}: {error.strerror}") from None
        try:
            os.fchmod(fd, mode)
            write_all(fd, payload)
            os.fsync(fd)
        except OSError as error:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp_name, dir_fd=dir_fd)
            raise PerflabError(f"cannot write {path}: {error.strerror}; the old file is untouched") from None
        os.close(fd)
        try:
            os.rename(tmp_name, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name, dir_fd=dir_fd)
            raise PerflabError(f"cannot write {path}: {error.strerror}") from None
        fsync_dir(dir_fd)
    finally:
        os.close(dir_fd)


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def read_bounded(path: str | Path, *, limit: int = DEFAULT_INPUT_LIMIT, what: str = "file") -> bytes:
    """The bytes of a regular file no larger than ``limit``; PerflabError otherwise (naming the path).

    Opened non-blocking so a FIFO cannot hang the open; devices, FIFOs, sockets and directories are
    refused before a byte is read; the read stops at ``limit + 1`` bytes whatever the file claims."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise PerflabError(f"{path}: cannot read {what}: {error.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PerflabError(f"{path}: {_kind(st)}, not a {what}")
        if st.st_size > limit:
            raise PerflabError(f"{path}: {what} is {st.st_size} bytes, more than the {limit} bytes allowed")
        os.set_blocking(fd, True)
        chunks = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise PerflabError(f"{path}: {what} is larger than the {limit} bytes allowed")
        return b"".join(chunks)
    except OSError as error:
        raise PerflabError(f"{path}: cannot read {what}: {error.strerror}") from None
    finally:
        os.close(fd)


def read_text_bounded(path: str | Path, *, limit: int = DEFAULT_INPUT_LIMIT, what: str = "file") -> str:
    """:func:`read_bounded` decoded as UTF-8; an invalid byte is reported with its line and column."""
    data = read_bounded(path, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        bad = data[error.start]
        raise PerflabError(f"{path}:{line}:{column}: not UTF-8 text (byte 0x{bad:02x})") from None


@contextlib.contextmanager
def private_file(directory: str | Path, name: str, flags: int, *, mode: int = 0o600) -> Iterator[int]:
    """``open_private`` of ``directory/name`` as a context manager (directory checked, created 0700)."""
    directory = ensure_private_dir(directory)
    dir_fd = open_dir(directory)
    try:
        fd = open_private(dir_fd, name, flags, mode=mode, where=directory / name)
    finally:
        os.close(dir_fd)
    try:
        yield fd
    finally:
        os.close(fd)
