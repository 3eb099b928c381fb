"""Reading folders a learner could have shaped: never follow a link, never open a special file.

A submission is data, and so is anything its code could have left behind.
The grader runs as a privileged user, so a symbolic link named like the
notebook, a named pipe, a link loop, a hard link to another file or a sparse
file of many gigabytes must never make it read, write, block on or copy
something it did not mean to.  :func:`copy_tree` copies a folder the safe
way:

* the walk holds each folder open (``O_DIRECTORY | O_NOFOLLOW``) and opens
  every name relative to it, so a component swapped for a link mid-walk is
  refused, not followed;
* only folders and regular files with one hard link are accepted; links,
  pipes, sockets and devices are refused without being opened;
* files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked again with
  ``fstat`` after opening, copied up to their size only, and the whole copy
  is held to a file count and a total size (apparent size, so a sparse file
  counts at its full length);
* the copy is made in a fresh folder next to the destination and renamed
  into place at the end, so a refused or failed copy leaves nothing
  half-written.

Everything refused is reported as a :class:`Refusal` (path and rule); the
caller decides whether the copy is still good enough and writes the reasons
to the student's log.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     src = pathlib.Path(tmp, "src"); src.mkdir()
...     _ = (src / "answer.txt").write_text("42")
...     (src / "link").symlink_to("/etc/passwd")
...     copied = copy_tree(src, pathlib.Path(tmp, "dst"))
...     [r.reason for r in copied.refused], copied.files
(['a symbolic link (not followed)'], ('answer.txt',))
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit.course.layout import CourseError

__all__ = ["TreeLimits", "Refusal", "CopyReport", "copy_tree", "read_regular_file", "describe",
           "kind_of", "scan_tree"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 20


@dataclass(frozen=True, kw_only=True)
class TreeLimits:
    """How much of an untrusted folder the grader accepts."""

    max_files: int = 200
    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 8

    def __post_init__(self) -> None:
        for name in ("max_files", "max_bytes", "max_depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise CourseError(f"tree limit {name} must be a whole number >= 1, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """One entry that was not copied: its path relative to the folder, what it is, and why."""

    path: str
    reason: str
    kind: str = "refused"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class CopyReport:
    """What a copy took (relative paths) and what it refused."""

    files: tuple[str, ...]
    bytes: int
    refused: tuple[Refusal, ...]


def kind_of(mode: int) -> str:
    """A short name for a file type: ``symbolic link``, ``named pipe``, ``socket``, ..."""
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    return "special file"


def describe(mode: int) -> str:
    """A learner-readable description of a file type that is not accepted."""
    kind = kind_of(mode)
    return f"a {kind} ({'not followed' if kind == 'symbolic link' else 'not opened'})"


class _Walk:
    def __init__(self, limits: TreeLimits, accept: Callable[[str], bool]):
        self.limits, self.accept = limits, accept
        self.files: list[str] = []
        self.total = 0
        self.refused: list[Refusal] = []

    def refuse(self, rel: str, reason: str, kind: str = "refused") -> None:
        self.refused.append(Refusal(path=rel, reason=reason, kind=kind))

    def walk(self, src_fd: int, dst: Path | None, rel: str, depth: int) -> None:
        try:
            names = sorted(os.listdir(src_fd))
        except OSError as exc:
            self.refuse(rel or ".", f"could not be listed ({exc.strerror})")
            return
        for name in names:
            path = f"{rel}/{name}" if rel else name
            try:
                st = os.lstat(name, dir_fd=src_fd)
            except OSError as exc:
                self.refuse(path, f"could not be read ({exc.strerror})")
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth >= self.limits.max_depth:
                    self.refuse(path, f"folders nested deeper than {self.limits.max_depth} levels")
                    continue
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=src_fd)
                except OSError as exc:
                    self.refuse(path, f"could not be opened ({exc.strerror})")
                    continue
                try:
                    sub = None
                    if dst is not None:
                        sub = dst / name
                        sub.mkdir(mode=0o755)
                    self.walk(fd, sub, path, depth + 1)
                finally:
                    os.close(fd)
            elif not stat.S_ISREG(st.st_mode):
                self.refuse(path, describe(st.st_mode), kind_of(st.st_mode))
            elif not self.accept(path):
                continue
            else:
                self.take(src_fd, name, path, st, dst)

    def take(self, src_fd: int, name: str, path: str, st: os.stat_result, dst: Path | None) -> None:
        if st.st_nlink != 1:
            self.refuse(path, f"a file with {st.st_nlink} hard links (only single files are taken)",
                        "hard-linked file")
            return
        if len(self.files) >= self.limits.max_files:
            self.refuse(path, f"more than {self.limits.max_files} files", "file over the count limit")
            return
        if self.total + st.st_size > self.limits.max_bytes:
            self.refuse(path, f"{st.st_size} bytes would take the copy past its "
                              f"{self.limits.max_bytes} byte limit", "file over the size limit")
            return
        if dst is not None:
            try:
                self.total += _copy_file(src_fd, name, dst / name, st)
            except (OSError, _Changed) as exc:
                self.refuse(path, f"could not be copied ({exc})")
                return
        else:
            self.total += st.st_size
        self.files.append(path)


class _Changed(Exception):
    """The file changed between lstat and open (a swap race)."""


def _copy_file(src_fd: int, name: str, target: Path, before: os.stat_result) -> int:
    fd = os.open(name, _FILE_FLAGS, dir_fd=src_fd)
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_ino != before.st_ino or st.st_dev != before.st_dev
                or st.st_nlink != 1):
            raise _Changed("it changed while being read")
        remaining = st.st_size
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      0o644)
        try:
            while remaining > 0:
                chunk = os.read(fd, min(_CHUNK, remaining))
                if not chunk:
                    break
                os.write(out, chunk)
                remaining -= len(chunk)
        finally:
            os.close(out)
        return st.st_size - remaining
    finally:
        os.close(fd)


def _open_root(src: Path) -> int:
    try:
        st = os.lstat(src)
    except OSError as exc:
        raise CourseError(f"{src}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise CourseError(f"{src}: {describe(st.st_mode) if not stat.S_ISREG(st.st_mode) else 'a file'}"
                          f", expected a folder")
    return os.open(src, _DIR_FLAGS)


def scan_tree(src: str | os.PathLike[str], *, limits: TreeLimits = TreeLimits()) -> CopyReport:
    """What :func:`copy_tree` would take from ``src`` and refuse, without copying anything."""
    fd = _open_root(Path(src))
    try:
        walk = _Walk(limits, lambda _path: True)
        walk.walk(fd, None, "", 0)
    finally:
        os.close(fd)
    return CopyReport(files=tuple(walk.files), bytes=walk.total, refused=tuple(walk.refused))


def copy_tree(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
              limits: TreeLimits = TreeLimits(), accept: Callable[[str], bool] | None = None,
              replace: bool = False) -> CopyReport:
    """Copy the acceptable part of the untrusted folder ``src`` to ``dst``.

    ``accept(relative_path)`` can leave out regular files (for example
    notebooks); ``replace`` swaps an existing ``dst`` for the copy.  The
    copy appears at ``dst`` only when it is complete.
    """
    source, target = Path(src), Path(dst)
    fd = _open_root(source)
    staging = target.parent / f".{target.name}.incoming-{uuid.uuid4().hex[:8]}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir(mode=0o755)
        walk = _Walk(limits, accept or (lambda _path: True))
        walk.walk(fd, staging, "", 0)
        if target.is_symlink() or target.exists():
            if not replace:
                raise CourseError(f"{target} already exists")
            _remove(target)
        os.rename(staging, target)
    except BaseException:
        _remove(staging)
        raise
    finally:
        os.close(fd)
    return CopyReport(files=tuple(walk.files), bytes=walk.total, refused=tuple(walk.refused))


def _remove(path: Path) -> None:
    """Remove ``path`` without following any link inside it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)             # rmtree never follows links (it checks with lstat / fds)
    else:
        os.unlink(path)


def read_regular_file(path: str | os.PathLike[str], *, max_bytes: int) -> bytes:
    """The bytes of ``path``, which must be a regular, singly linked file of at most ``max_bytes``."""
    name = Path(path)
    try:
        st = os.lstat(name)
    except OSError as exc:
        raise CourseError(f"{name}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CourseError(f"{name}: {describe(st.st_mode)}; hand in the notebook file itself")
    if st.st_nlink != 1:
        raise CourseError(f"{name}: a file with {st.st_nlink} hard links; hand in a plain copy")
    if st.st_size > max_bytes:
        raise CourseError(f"{name}: {st.st_size} bytes, more than the {max_bytes} bytes a "
                          f"submission may have")
    fd = os.open(name, _FILE_FLAGS)
    try:
        after = os.fstat(fd)
        if after.st_ino != st.st_ino or not stat.S_ISREG(after.st_mode):
            raise CourseError(f"{name}: changed while being read; hand it in again")
        data = b""
        while len(data) <= max_bytes:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise CourseError(f"{name}: more than the {max_bytes} bytes a submission may have")
    return data
