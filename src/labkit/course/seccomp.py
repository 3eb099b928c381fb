"""A seccomp filter for grading kernels: refuse the system calls Landlock does not cover.

Landlock (see :mod:`labkit.course.sandbox`) decides which files a kernel may
read and write, but not who may change a file's *metadata*: a kernel running
as the same user as the grader could still ``chmod`` the gradebook or reset a
file's timestamps.  This filter makes those calls fail with ``EPERM``, along
with calls a learner's notebook never needs and a hostile one could abuse
(mounting, rebooting, loading kernel modules, tracing other processes, changing
the clock, creating namespaces).  It needs no privileges (``no_new_privs`` is
set first) and is inherited by every process the kernel starts.

Only x86_64 and aarch64 are listed; elsewhere :func:`install` raises, and the
grader refuses to run student code rather than run it half-protected.
"""

from __future__ import annotations

import ctypes
import errno
import platform

__all__ = ["install", "DENIED"]

# Syscall names refused, with their numbers on each architecture (from the kernel's
# asm/unistd_64.h and asm-generic/unistd.h; fchmodat2 and the *xattrat calls share
# one number across architectures).
DENIED: dict[str, tuple[int | None, int | None]] = {
    # name:            (x86_64, aarch64)
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, None), "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54),
    "utime": (132, None), "utimes": (235, None), "futimesat": (261, None), "utimensat": (280, 88),
    "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7), "setxattrat": (463, 463),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "removexattrat": (466, 466),
    "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "ptrace": (101, 117), "process_vm_readv": (310, 270), "process_vm_writev": (311, 271),
    "reboot": (169, 142), "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "init_module": (175, 105), "finit_module": (313, 273), "delete_module": (176, 106),
    "swapon": (167, 224), "swapoff": (168, 225), "acct": (163, 89), "quotactl": (179, 60),
    "settimeofday": (164, 170), "clock_settime": (227, 112), "adjtimex": (159, 171),
    "clock_adjtime": (305, 266), "sethostname": (170, 161), "setdomainname": (171, 162),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "unshare": (272, 97), "setns": (308, 268), "iopl": (172, None), "ioperm": (173, None),
}

_AUDIT_ARCH = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}
_X32_BIT = 0x40000000
# BPF opcodes
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_RET_ALLOW, _RET_KILL, _RET_ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _program(arch: str) -> list[tuple[int, int, int, int]]:
    audit_arch, column = _AUDIT_ARCH[arch]
    numbers = sorted({nums[column] for nums in DENIED.values() if nums[column] is not None})
    deny = _RET_ERRNO | errno.EPERM
    prog = [(_LD_W_ABS, 0, 0, 4),                       # seccomp_data.arch
            (_JEQ_K, 1, 0, audit_arch),
            (_RET_K, 0, 0, _RET_KILL),                  # a foreign ABI: refuse outright
            (_LD_W_ABS, 0, 0, 0)]                       # seccomp_data.nr
    if arch == "x86_64":
        prog += [(_JGE_K, 0, 1, _X32_BIT), (_RET_K, 0, 0, deny)]
    for i, nr in enumerate(numbers):
        remaining = len(numbers) - i - 1
        prog.append((_JEQ_K, remaining + 1, 0, nr))    # jump to the deny return at the end
    prog += [(_RET_K, 0, 0, _RET_ALLOW), (_RET_K, 0, 0, deny)]
    return prog


def install() -> None:
    """Install the filter on the calling thread (and so on everything it ``exec``s)."""
    arch = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    if arch not in _AUDIT_ARCH:
        raise OSError(f"the grading seccomp filter knows x86_64 and aarch64, not {arch!r}")
    prog = _program(arch)
    array = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), array)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "setting no_new_privs failed")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "installing the seccomp filter failed")
