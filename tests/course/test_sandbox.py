"""labkit.course.sandbox, jail, landlock, seccomp: what a grading kernel can and cannot do, for real.

Each test runs a small probe under ``python -m labkit.course.sandbox`` (the launcher grading
kernels start through) with a scratch folder prepared as the kernel manager prepares it, next to
a "course" folder standing for the gradebook, source/ and other students, and a loopback listener.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkit.course import seccomp
from labkit.course.cgroups import KernelCgroup
from labkit.course.landlock import landlock_abi
from labkit.course.sandbox import (
    SandboxError,
    SandboxLimits,
    check_available,
    controls,
    free_uid,
    kernel_environment,
)

UID = 61999
PROBE = textwrap.dedent(r'''
    import json, os, signal, socket, sys
    os.write(int(os.environ.pop("LABKIT_SANDBOX_READY_FD")), b"r")   # as the kernel's startup file
    course, port = sys.argv[1], int(sys.argv[2])
    out = {}
    def attempt(label, action):
        try:
            action(); out[label] = "allowed"
        except MemoryError:
            out[label] = "MemoryError"
        except Exception as exc:
            out[label] = type(exc).__name__
    attempt("write own folder", lambda: open("mine.txt", "w").write("x"))
    attempt("read seed file", lambda: open("data.txt").read())
    attempt("chmod own file", lambda: os.chmod("mine.txt", 0o600))
    attempt("write gradebook", lambda: open(os.path.join(course, "gradebook.db"), "ab").write(b"x"))
    attempt("read source", lambda: open(os.path.join(course, "source.ipynb")).read())
    attempt("list course", lambda: os.listdir(course))
    attempt("write /etc", lambda: open("/etc/labkit-probe", "w").write("x"))
    attempt("read /etc/shadow", lambda: open("/etc/shadow").read())
    attempt("patch python", lambda: open(os.__file__, "a").write("#"))
    attempt("signal parent", lambda: os.kill(1, signal.SIGTERM))
    attempt("tcp connect", lambda: socket.create_connection(("127.0.0.1", port), timeout=1))
    attempt("udp socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    attempt("unix socket", lambda: socket.socket(socket.AF_UNIX).close())
    attempt("allocate 3 GiB", lambda: bytearray(3 * 1024 ** 3))
    attempt("devnull", lambda: open(os.devnull, "w").write("x"))
    attempt("import numpy", lambda: __import__("numpy"))
    out["uid"] = os.getuid()
    out["cwd"] = os.getcwd()
    out["root"] = sorted(os.listdir("/"))
    out["pids"] = sorted(p for p in os.listdir("/proc") if p.isdigit())
    out["env"] = sorted(os.environ)
    out["capabilities"] = open("/proc/self/status").read().split("CapEff:")[1].split()[0]
    print(json.dumps(out))
''')


def prepare(tmp_path: Path) -> tuple[Path, Path]:
    """A scratch folder as SandboxKernelManager makes one: ipc/ owned by the kernel, seed/ files."""
    scratch = tmp_path / "scratch"
    (scratch / "ipc").mkdir(parents=True)
    os.chown(scratch / "ipc", UID, UID)
    (scratch / "seed").mkdir()
    (scratch / "seed" / "data.txt").write_text("seeded")
    (scratch / "seed" / "probe.py").write_text(PROBE)
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_bytes(b"grades")
    (course / "source.ipynb").write_text("{}")
    return scratch, course


def launch(scratch: Path, command: list[str], *extra: str,
           env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.course.sandbox", *extra, "--scratch", str(scratch),
                           "--uid", str(UID), "--report", str(scratch / "report.json"), "--log",
                           str(scratch / "kernel.log"), "--", *command],
                          cwd=scratch, capture_output=True, text=True, timeout=120, check=False,
                          env=env)


@pytest.fixture()
def probe_result(tmp_path):
    scratch, course = prepare(tmp_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    before = {p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns) for p in course.iterdir()}
    proc = launch(scratch, [sys.executable, "probe.py", str(course), str(listener.getsockname()[1])],
                  "--memory-mb", "1024", "--cpus", "0", env=dict(os.environ, LABKIT_PROBE_SECRET="s3cret"))
    log = (scratch / "kernel.log").read_text()
    assert proc.returncode == 0, log
    assert proc.stdout == "" and proc.stderr == ""   # nothing reaches the grader's own stdout
    with pytest.raises(TimeoutError):
        listener.accept()                              # no connection ever arrived
    listener.close()
    after = {p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns) for p in course.iterdir()}
    report = json.loads((scratch / "report.json").read_text())
    return json.loads(log.strip().splitlines()[-1]), report, before, after


def test_the_kernel_runs_as_its_own_user_in_its_own_world(probe_result):
    out, _, _, _ = probe_result
    assert out["uid"] == UID
    assert out["cwd"] == "/labkit/work"
    assert {"labkit", "usr", "etc", "proc", "dev"} <= set(out["root"])
    assert "tmp" in out["root"] and "home" not in out["root"]
    assert out["pids"] == ["2"]                        # hidepid: not even process 1
    assert int(out["capabilities"], 16) == 0
    assert out["write own folder"] == out["read seed file"] == out["devnull"] == "allowed"
    assert out["import numpy"] == "allowed"


def test_nothing_outside_the_work_folder_can_be_read_or_changed(probe_result):
    out, _, before, after = probe_result
    for label in ("write gradebook", "read source", "list course"):
        assert out[label] == "FileNotFoundError", label     # the course is not in its world
    assert out["write /etc"] == "OSError"                   # read-only bind mount (EROFS)
    assert out["patch python"] in ("PermissionError", "OSError")   # not its file; read-only mount
    assert out["read /etc/shadow"] == "PermissionError"     # its own user: file permissions hold
    assert out["chmod own file"] == "PermissionError"       # seccomp
    assert after == before


def test_network_signals_and_memory_are_refused(probe_result):
    out, report, _, _ = probe_result
    assert out["tcp connect"] == out["udp socket"] == "PermissionError"
    assert out["unix socket"] == "allowed"
    assert out["signal parent"] in ("PermissionError", "ProcessLookupError")
    assert out["allocate 3 GiB"] == "MemoryError"           # RLIMIT_AS = 1 GiB
    assert report["refused"] == {"network socket (AF_INET stream)": 1,
                                 "network socket (AF_INET datagram)": 1}


def test_the_kernel_sees_none_of_the_graders_environment(probe_result):
    out, _, _, _ = probe_result
    assert "LABKIT_PROBE_SECRET" not in out["env"]
    assert set(out["env"]) == set(kernel_environment(sys.executable, {}))


def test_a_process_that_outlives_the_kernel_is_killed_with_it(tmp_path):
    scratch, _ = prepare(tmp_path)
    code = ("import os, time\n"
            "if os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n    os._exit(0)\n")
    proc = launch(scratch, [sys.executable, "-c", code, "labkit-sandbox-survivor-probe"])
    assert proc.returncode == 0, (scratch / "kernel.log").read_text()
    report = json.loads((scratch / "report.json").read_text())
    assert report["still_running"] == 1
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"labkit-sandbox-survivor-probe" in Path(f"/proc/{pid}/cmdline").read_bytes():
                alive.append(pid)
        except OSError:
            continue
    assert alive == []


def test_the_work_folder_is_capped_and_discarded(tmp_path):
    scratch, _ = prepare(tmp_path)
    code = ("import os\nn = 0\ntry:\n    while True:\n        open(f'f{n}', 'wb').write(b'x' * (1 << 20))\n"
            "        n += 1\nexcept OSError as exc:\n    print(n, exc.errno)\n")
    proc = launch(scratch, [sys.executable, "-c", code], "--work-mb", "8")
    assert proc.returncode == 0, (scratch / "kernel.log").read_text()
    written, errno_ = map(int, (scratch / "kernel.log").read_text().split()[-2:])
    assert errno_ == 28 and 4 <= written <= 8                # ENOSPC at the 8 MiB tmpfs
    report = json.loads((scratch / "report.json").read_text())
    assert report["work_used_bytes"] >= 0.98 * report["work_size_bytes"]
    assert not list(scratch.rglob("f0"))                    # it lived in the kernel's tmpfs only


def test_cpu_limit_ends_a_runaway_process(tmp_path):
    scratch, _ = prepare(tmp_path)
    proc = launch(scratch, [sys.executable, "-c", "while True: pass"], "--cpu-s", "1")
    assert proc.returncode < 0 or proc.returncode > 128      # killed by SIGXCPU / SIGKILL


def test_the_cgroup_holds_the_whole_kernel(tmp_path):
    scratch, _ = prepare(tmp_path)
    group = KernelCgroup.create(processes=32, memory_mb=512)
    try:
        args = [a for f in group.procs_files for a in ("--cgroup-procs", f)]
        code = ("import os, time\nforks = 0\ntry:\n    for _ in range(100):\n"
                "        if os.fork() == 0:\n            time.sleep(30); os._exit(0)\n"
                "        forks += 1\nexcept OSError:\n    pass\nprint(forks)\n")
        proc = launch(scratch, [sys.executable, "-c", code], "--processes", "32", *args)
        assert proc.returncode == 0, (scratch / "kernel.log").read_text()
        forks = int((scratch / "kernel.log").read_text().split()[-1])
        assert 16 <= forks < 32                      # the group also holds the launcher and init
        assert group.events()["pids_max"] >= 1
    finally:
        group.kill()
        group.remove()
    assert not any(f.exists() for f in map(Path, group.procs_files))


@pytest.mark.parametrize("kwargs, message", [
    ({"memory_mb": -1}, "sandbox.memory_mb must be a whole number >= 0, got -1"),
    ({"cpu_s": 1.5}, "sandbox.cpu_s must be a whole number >= 0, got 1.5"),
    ({"memory_mb": 100}, "sandbox.memory_mb must be >= 256 (a Python kernel needs that much "
                         "address space), got 100"),
    ({"processes": 4}, "sandbox.processes must be >= 16 (a kernel runs about ten threads), got 4"),
    ({"cpus": -1}, "sandbox.cpus must be a number of CPUs from 0 to 256, got -1"),
])
def test_limits_are_validated(kwargs, message):
    with pytest.raises(SandboxError) as info:
        SandboxLimits(**kwargs)
    assert str(info.value) == message


def test_launcher_needs_a_command_and_an_unprivileged_uid(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labkit.course.sandbox", "--scratch", str(tmp_path),
                           "--uid", str(UID)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "no kernel command given after --" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "labkit.course.sandbox", "--scratch", str(tmp_path),
                           "--uid", "0", "--", "true"], capture_output=True, text=True, check=False)
    assert proc.returncode == 3 and "--uid must be an unprivileged id >= 1000, got 0" in proc.stderr


def test_every_control_is_available_here():
    # the grading pipeline refuses to run student code when one is missing
    assert landlock_abi() >= 1
    assert controls() == {name: "" for name in controls()}
    check_available()


def test_a_missing_control_is_named(monkeypatch):
    monkeypatch.setattr("labkit.course.sandbox.cgroups.available", lambda wanted: ("memory",))
    with pytest.raises(SandboxError) as info:
        check_available()
    assert "cgroups: no writable cgroup for memory" in str(info.value)


def test_free_uid_skips_ids_in_use():
    busy = os.stat(f"/proc/{os.getpid()}").st_uid        # root, 0
    assert free_uid(busy, 3, seed=0) == busy + 1
    with pytest.raises(SandboxError):
        free_uid(busy, 1, seed=0)


def test_seccomp_program_refuses_what_it_must_on_both_architectures():
    for name in ("chmod", "fchmodat", "fchownat", "utimensat", "setxattr", "mount", "ptrace",
                 "reboot", "init_module", "unshare", "setns", "io_uring_setup", "bpf"):
        x86, arm = seccomp.DENIED[name]
        assert x86 is not None or arm is not None
    x86_denied = {v[0] for v in seccomp.DENIED.values()}
    assert not x86_denied & {0, 1, 2, 56, 57, 59, 257}       # read write open clone fork execve openat
    for arch in ("x86_64", "aarch64"):
        program = seccomp.program(arch)
        assert len(program) < 256
        assert program[-1][3] == 0x00050000 | 38               # last: ERRNO(ENOSYS) for clone3
        assert (0x06, 0, 0, 0x7FC00000) in program              # reported calls go to the supervisor
        assert any(op == 0x45 and k == 0x7E020000 for op, _, _, k in program)   # clone's flags tested
