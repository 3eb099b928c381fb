"""A seccomp filter for grading kernels: refuse, and report, the system calls nothing else covers.

Landlock (:mod:`labkit.course.landlock`) and the sandbox's private
filesystem, PID and network namespaces (:mod:`labkit.course.jail`) decide
what a kernel can see and write.  Some calls sit beside all of that:

* **sockets of any family but ``AF_UNIX``** (TCP, UDP, MPTCP, raw, netlink,
  packet, ...): Landlock covers only TCP, so every other family is refused
  here, even inside the kernel's empty network namespace;
* **io_uring**, which performs file operations without the system calls the
  other rules watch;
* **new namespaces** (``clone`` with a ``CLONE_NEW*`` flag, ``unshare``,
  ``setns``; ``clone3`` answers ``ENOSYS`` so the C library falls back to
  ``clone``, whose flags a filter can read);
* mounting, tracing other processes, BPF, perf events, kernel modules,
  keyrings, rebooting, the clock;
* file metadata changes (chmod, chown, utime, extended attributes).

Refused calls fail with ``EPERM`` (a netlink socket with ``EOPNOTSUPP``,
which ``getifaddrs`` users such as ZeroMQ take as "no interfaces" instead of
aborting).  All but the metadata changes (which the Python stack attempts
harmlessly at start-up) are *reported*: the filter
hands them to a supervisor (:class:`Supervisor`, run by the sandbox's init
process) through a seccomp user-notification descriptor, which answers
``EPERM`` and counts them by name, so the grader can say on the student's
line what the submission tried.  The filter needs no privileges
(``no_new_privs`` is set first) and binds every process the kernel starts.

Only x86_64 and aarch64 are listed; elsewhere :func:`install` raises, and the
grader refuses to run student code rather than run it half-protected.
"""

from __future__ import annotations

import ctypes
import errno
import platform
from collections import Counter

__all__ = ["install", "Supervisor", "DENIED", "REPORTED", "program", "machine"]

# (x86_64, aarch64) numbers, from asm/unistd_64.h and asm-generic/unistd.h.
REPORTED: dict[str, tuple[int | None, int | None]] = {
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
    "io_uring_setup": (425, 425), "io_uring_enter": (426, 426), "io_uring_register": (427, 427),
    "open_by_handle_at": (304, 265), "personality": (135, 92),
}
_SILENT: dict[str, tuple[int | None, int | None]] = {
    "chmod": (90, None), "fchmod": (91, 52), "fchmodat": (268, 53), "fchmodat2": (452, 452),
    "chown": (92, None), "fchown": (93, 55), "lchown": (94, None), "fchownat": (260, 54),
    "utime": (132, None), "utimes": (235, None), "futimesat": (261, None), "utimensat": (280, 88),
    "setxattr": (188, 5), "lsetxattr": (189, 6), "fsetxattr": (190, 7), "setxattrat": (463, 463),
    "removexattr": (197, 14), "lremovexattr": (198, 15), "fremovexattr": (199, 16),
    "removexattrat": (466, 466),
}
#: Every call the filter refuses outright, by name (sockets and clone are judged by argument).
DENIED: dict[str, tuple[int | None, int | None]] = {**REPORTED, **_SILENT}
_ARGUED = {"socket": (41, 198), "socketpair": (53, 199), "clone": (56, 220), "clone3": (435, 435)}
_SECCOMP = {"x86_64": 317, "aarch64": 277}

_AUDIT_ARCH = {"x86_64": (0xC000003E, 0), "aarch64": (0xC00000B7, 1)}
_X32_BIT = 0x40000000
_CLONE_NEW = 0x7E020000           # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_AF_UNIX = 1
# BPF opcodes and seccomp return values
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_KILL, _RET_ERRNO, _RET_NOTIFY = 0x7FFF0000, 0x80000000, 0x00050000, 0x7FC00000
_OFF_NR, _OFF_ARCH, _OFF_ARG0, _OFF_ARG1, _OFF_ARG2 = 0, 4, 16, 24, 32
_PR_SET_NO_NEW_PRIVS, _SET_MODE_FILTER, _GET_NOTIF_SIZES = 38, 1, 3
_FLAG_NEW_LISTENER = 1 << 3
_NOTIF_RECV, _NOTIF_SEND = 0xC0502100, 0xC0182101


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def machine() -> str:
    """This machine's architecture as the filter names it (``x86_64`` or ``aarch64``)."""
    arch = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)


def _numbers(table: dict[str, tuple[int | None, int | None]], column: int) -> list[int]:
    return sorted({nr for nums in table.values() if (nr := nums[column]) is not None})


def program(arch: str, *, notify: bool = True) -> list[tuple[int, int, int, int]]:
    """The BPF program: (code, jt, jf, k) per instruction, jumps resolved."""
    audit_arch, column = _AUDIT_ARCH[arch]
    report = _RET_NOTIFY if notify else _RET_ERRNO | errno.EPERM
    # (op or label name, jump-if-true, jump-if-false, k); jumps name labels until resolved
    code: list[tuple[int | str, int | str, int | str, int]] = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH), (_JEQ_K, 1, 0, audit_arch),
        (_RET_K, 0, 0, _RET_KILL),                        # a foreign ABI: refuse outright
        (_LD_W_ABS, 0, 0, _OFF_NR)]
    if arch == "x86_64":
        code.append((_JGE_K, "deny", 0, _X32_BIT))
    code += [(_JEQ_K, "sock", 0, _ARGUED["socket"][column]),
             (_JEQ_K, "sock", 0, _ARGUED["socketpair"][column]),
             (_JEQ_K, "clone", 0, _ARGUED["clone"][column]),
             (_JEQ_K, "enosys", 0, _ARGUED["clone3"][column])]
    code += [(_JEQ_K, "report", 0, nr) for nr in _numbers(REPORTED, column)]
    code += [(_JEQ_K, "deny", 0, nr) for nr in _numbers(_SILENT, column)]
    code += [(_RET_K, 0, 0, _RET_ALLOW),
             ("sock", 0, 0, 0), (_LD_W_ABS, 0, 0, _OFF_ARG0), (_JEQ_K, "allow", "report", _AF_UNIX),
             ("clone", 0, 0, 0), (_LD_W_ABS, 0, 0, _OFF_ARG0), (_JSET_K, "report", "allow", _CLONE_NEW),
             ("allow", 0, 0, 0), (_RET_K, 0, 0, _RET_ALLOW),
             ("report", 0, 0, 0), (_RET_K, 0, 0, report),
             ("deny", 0, 0, 0), (_RET_K, 0, 0, _RET_ERRNO | errno.EPERM),
             ("enosys", 0, 0, 0), (_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS)]
    labels: dict[str, int] = {}
    body: list[tuple[int, int | str, int | str, int]] = []
    for op, jt, jf, k in code:
        if isinstance(op, str):
            labels[op] = len(body)
        else:
            body.append((op, jt, jf, k))
    resolved: list[tuple[int, int, int, int]] = []
    for i, (op, jt, jf, k) in enumerate(body):
        jumps = [labels[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf)]
        if not all(0 <= j < 256 for j in jumps):       # BPF jumps are forward, 8 bits
            raise ValueError(f"seccomp program jump out of range at instruction {i}")
        resolved.append((op, jumps[0], jumps[1], k))
    return resolved


def install(*, notify: bool = True) -> int | None:
    """Install the filter on the calling thread (and so on everything it ``exec``s).

    With ``notify`` the reported calls go to a user-notification descriptor,
    returned for a :class:`Supervisor`; without it they fail with ``EPERM``
    and ``None`` is returned.
    """
    arch = machine()
    if arch not in _AUDIT_ARCH:
        raise OSError(f"the grading seccomp filter knows x86_64 and aarch64, not {arch!r}")
    prog = program(arch, notify=notify)
    array = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    fprog = _SockFprog(len(prog), array)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "setting no_new_privs failed")
    flags = _FLAG_NEW_LISTENER if notify else 0
    fd = libc.syscall(ctypes.c_long(_SECCOMP[arch]), ctypes.c_uint(_SET_MODE_FILTER),
                      ctypes.c_uint(flags), ctypes.byref(fprog))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "installing the seccomp filter failed")
    return int(fd) if notify else None


class _Data(ctypes.Structure):
    _fields_ = [("nr", ctypes.c_int32), ("arch", ctypes.c_uint32), ("ip", ctypes.c_uint64),
                ("args", ctypes.c_uint64 * 6)]


class _Notif(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("pid", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("data", _Data)]


class _Resp(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("val", ctypes.c_int64), ("error", ctypes.c_int32),
                ("flags", ctypes.c_uint32)]


_FAMILIES = {2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET", 4: "AF_IPX",
             5: "AF_APPLETALK", 9: "AF_X25", 15: "AF_KEY", 29: "AF_CAN", 31: "AF_BLUETOOTH",
             38: "AF_ALG", 40: "AF_VSOCK", 44: "AF_XDP"}
_TYPES = {1: "stream", 2: "datagram", 3: "raw", 5: "seqpacket"}


class Supervisor:
    """Answers the filter's reported calls with ``EPERM`` and counts them by what they tried."""

    def __init__(self, listener: int):
        self.listener = listener
        self.counts: Counter[str] = Counter()
        self.counting = True          # False while the kernel itself starts (its own probes)
        self._column = _AUDIT_ARCH.get(machine(), (0, 0))[1]
        self._names = {nums[self._column]: name for name, nums in {**REPORTED, **_ARGUED}.items()
                       if nums[self._column] is not None}
        self._libc = ctypes.CDLL(None, use_errno=True)

    def describe(self, data: _Data) -> str:
        name = self._names.get(data.nr, f"syscall {data.nr}")
        if name in ("socket", "socketpair"):
            family = _FAMILIES.get(data.args[0] & 0xFFFFFFFF, f"family {data.args[0]}")
            kind = _TYPES.get(data.args[1] & 0xF, "socket")
            extra = " MPTCP" if data.args[2] == 262 else ""
            return f"network socket ({family} {kind}{extra})"
        if name == "clone":
            return "new namespace (clone)"
        if name.startswith("io_uring"):
            return "io_uring"
        return name

    def handle(self) -> bool:
        """Answer one pending notification; False when the filter has no users left."""
        notif = _Notif()
        if self._libc.ioctl(self.listener, ctypes.c_ulong(_NOTIF_RECV), ctypes.byref(notif)) != 0:
            err = ctypes.get_errno()
            return err in (errno.EINTR, errno.ENOENT)      # ENOENT: the caller died meanwhile
        if self.counting:
            self.counts[self.describe(notif.data)] += 1
        # netlink: EOPNOTSUPP, which getifaddrs() users such as ZeroMQ treat as "no interfaces"
        netlink = notif.data.nr == _ARGUED["socket"][self._column] and notif.data.args[0] == 16
        resp = _Resp(notif.id, 0, -(errno.EOPNOTSUPP if netlink else errno.EPERM), 0)
        self._libc.ioctl(self.listener, ctypes.c_ulong(_NOTIF_SEND), ctypes.byref(resp))
        return True
