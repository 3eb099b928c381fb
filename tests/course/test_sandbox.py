"""labkit.course.sandbox and seccomp: what a grading kernel can and cannot do, checked for real.

Each test runs a small probe under ``python -m labkit.course.sandbox`` (the
launcher grading kernels start through) from a throwaway work folder, next
to a "course" folder standing for the gradebook, source/ and other students.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkit.course import seccomp
from labkit.course.sandbox import SandboxError, SandboxLimits, landlock_abi

PROBE = textwrap.dedent(r'''
    import json, os, signal, socket, sys
    course = sys.argv[1]
    out = {}
    def attempt(label, action):
        try:
            action(); out[label] = "allowed"
        except MemoryError:
            out[label] = "MemoryError"
        except Exception as exc:
            out[label] = type(exc).__name__
    attempt("write own folder", lambda: open("mine.txt", "w").write("x"))
    attempt("chmod own file", lambda: os.chmod("mine.txt", 0o600))
    attempt("write gradebook", lambda: open(os.path.join(course, "gradebook.db"), "ab").write(b"x"))
    attempt("read source", lambda: open(os.path.join(course, "source.ipynb")).read())
    attempt("list course", lambda: os.listdir(course))
    attempt("create in course", lambda: open(os.path.join(course, "new.txt"), "w").write("x"))
    attempt("chmod gradebook", lambda: os.chmod(os.path.join(course, "gradebook.db"), 0o777))
    attempt("utime gradebook", lambda: os.utime(os.path.join(course, "gradebook.db"), (0, 0)))
    attempt("write tmp", lambda: open("/tmp/labkit-sandbox-probe.txt", "w").write("x"))
    attempt("patch python", lambda: open(os.__file__, "a").write("#"))
    attempt("signal parent", lambda: os.kill(os.getppid(), 0))
    attempt("connect", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1))
    attempt("allocate 3 GiB", lambda: bytearray(3 * 1024 ** 3))
    attempt("devnull", lambda: open(os.devnull, "w").write("x"))
    attempt("import numpy", lambda: __import__("numpy"))
    out["capabilities"] = open("/proc/self/status").read().split("CapEff:")[1].split()[0]
    print(json.dumps(out))
''')


@pytest.fixture()
def probe_result(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_bytes(b"grades")
    (course / "source.ipynb").write_text("{}")
    work = tmp_path / "work"
    work.mkdir()
    (work / "probe.py").write_text(PROBE)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = {p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns)
              for p in course.iterdir()}
    log = tmp_path / "kernel.log"                  # the launcher sends fds 1 and 2 here
    proc = subprocess.run([sys.executable, "-m", "labkit.course.sandbox", "--memory-mb", "1024",
                           "--scratch", str(scratch), "--log", str(log), "--", sys.executable,
                           "probe.py", str(course)], cwd=work, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, log.read_text()
    assert proc.stdout == "" and proc.stderr == ""   # nothing reaches the grader's own stdout
    after = {p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns)
             for p in course.iterdir()}
    return json.loads(log.read_text().strip().splitlines()[-1]), before, after


def test_landlock_is_available_here():
    # the grading pipeline refuses to run student code without it
    assert landlock_abi() >= 1


def test_own_folder_is_writable_and_python_works(probe_result):
    out, _, _ = probe_result
    assert out["write own folder"] == "allowed"
    assert out["devnull"] == "allowed"
    assert out["import numpy"] == "allowed"


def test_nothing_outside_the_work_folder_can_be_read_or_changed(probe_result):
    out, before, after = probe_result
    for label in ("write gradebook", "read source", "list course", "create in course",
                  "write tmp", "patch python"):
        assert out[label] == "PermissionError", label
    for label in ("chmod gradebook", "utime gradebook", "chmod own file"):
        assert out[label] == "PermissionError", label       # seccomp: metadata is frozen
    assert after == before                                    # bytes, mode and mtime
    assert not Path("/tmp/labkit-sandbox-probe.txt").exists()


def test_memory_network_signals_and_privileges_are_limited(probe_result):
    out, _, _ = probe_result
    assert out["allocate 3 GiB"] == "MemoryError"             # RLIMIT_AS = 1 GiB
    assert out["connect"] == "PermissionError"                # landlock net (ABI >= 4)
    if landlock_abi() >= 6:
        assert out["signal parent"] == "PermissionError"      # landlock signal scoping
    assert int(out["capabilities"], 16) == 0                  # no capabilities, even as root


def test_cpu_limit_ends_a_runaway_process(tmp_path):
    scratch = tmp_path / "s"
    scratch.mkdir()
    proc = subprocess.run([sys.executable, "-m", "labkit.course.sandbox", "--cpu-s", "1",
                           "--scratch", str(scratch), "--", sys.executable, "-c",
                           "while True: pass"], cwd=tmp_path, capture_output=True, timeout=60,
                          check=False)
    assert proc.returncode < 0 or proc.returncode > 128      # killed by SIGXCPU / SIGKILL


@pytest.mark.parametrize("kwargs, message", [
    ({"memory_mb": -1}, "sandbox.memory_mb must be a whole number >= 0, got -1"),
    ({"cpu_s": 1.5}, "sandbox.cpu_s must be a whole number >= 0, got 1.5"),
    ({"memory_mb": 100}, "sandbox.memory_mb must be >= 256 (a Python kernel needs that much "
                         "address space), got 100"),
])
def test_limits_are_validated(kwargs, message):
    with pytest.raises(SandboxError) as info:
        SandboxLimits(**kwargs)
    assert str(info.value) == message


def test_launcher_needs_a_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labkit.course.sandbox", "--scratch",
                           str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "no kernel command given after --" in proc.stderr


def test_seccomp_denies_metadata_calls_on_both_architectures():
    for name in ("chmod", "fchmodat", "fchownat", "utimensat", "setxattr", "mount", "ptrace",
                 "reboot", "init_module", "unshare"):
        x86, arm = seccomp.DENIED[name]
        assert x86 is not None or arm is not None
    # reading, writing, exec and process creation stay allowed: none of their numbers are denied
    x86_denied = {v[0] for v in seccomp.DENIED.values()}
    assert not x86_denied & {0, 1, 2, 56, 57, 59, 257}       # read write open clone fork execve openat
    program = seccomp._program("x86_64")
    assert program[-1][3] == 0x00050000 | 1                 # last instruction: ERRNO(EPERM)
    assert len(program) < 256                                # BPF jump offsets fit in 8 bits

