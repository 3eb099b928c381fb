"""Linux Landlock for grading kernels: which files a kernel may touch, and nothing on TCP.

Landlock is an unprivileged access-control layer (Linux 5.13+): a process
builds a *ruleset* of allowed rights per folder, enforces it on itself, and
every process it then starts inherits it.  The grading sandbox uses it as
the second wall behind its private filesystem view (:mod:`labkit.course.jail`):

* read (and execute) everywhere the kernel can see, write only in the
  folders given (its work folder, its socket folder, ``/dev/null``);
* TCP ``bind`` and ``connect`` refused on every port (ABI 4+);
* no signals to processes outside the sandbox and no abstract Unix sockets
  of others (ABI 6+).

Each right is requested only when the running kernel's ABI knows it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Sequence

from labkit.errors import LabkitError

__all__ = ["landlock_abi", "restrict", "LandlockError", "MAKE_SOCK"]

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446   # x86_64 and aarch64 alike
_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
MAKE_SOCK = 1 << 9
_FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 14, 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ_RIGHTS = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_NET_BIND, _NET_CONNECT = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class LandlockError(LabkitError, RuntimeError):
    """Landlock is missing or refused a rule; the message says which."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers (0 when Landlock is unavailable)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(version) if version > 0 else 0


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1              # ABI 1: execute .. make_sym
    if abi >= 2:
        rights |= 1 << 13               # refer
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def _check(result: int, what: str) -> None:
    if result < 0:
        raise LandlockError(f"{what} failed: {os.strerror(ctypes.get_errno())}")


def _add_path(ruleset: int, path: str, rights: int, handled: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return                           # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(rights & handled, fd)
        _check(_libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0)), f"landlock rule for {path}")
    finally:
        os.close(fd)


def restrict(*, read_paths: Sequence[str], write_paths: Sequence[str],
             socket_paths: Sequence[str] = ()) -> int:
    """Enforce the rules on the calling process for good; returns the ABI used.

    ``write_paths`` get every right, ``socket_paths`` reading plus creating and
    removing Unix sockets, ``read_paths`` reading and executing.  The caller
    must have set ``no_new_privs`` (or hold ``CAP_SYS_ADMIN``).
    """
    abi = landlock_abi()
    if abi < 1:
        raise LandlockError("Linux Landlock is not available on this machine (kernel >= 5.13 "
                            "with landlock in the LSM list is required to grade untrusted notebooks)")
    handled_fs = _fs_rights(abi)
    handled_net = (_NET_BIND | _NET_CONNECT) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = _RulesetAttr(handled_fs, handled_net, scoped)
    size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    _check(ruleset, "creating the landlock ruleset")
    try:
        for path in read_paths:
            _add_path(ruleset, path, _READ_RIGHTS, handled_fs)
        for path in socket_paths:
            _add_path(ruleset, path, _READ_RIGHTS | MAKE_SOCK | (1 << 5), handled_fs)  # + remove_file
        for path in write_paths:
            _add_path(ruleset, path, handled_fs, handled_fs)
        # no TCP port rule at all: with handled_net set, every bind and connect is refused
        _check(_libc.syscall(_SYS_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "enforcing the landlock ruleset")
    finally:
        os.close(ruleset)
    return abi
