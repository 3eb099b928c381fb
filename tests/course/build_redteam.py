"""Build the red-team submissions in grading/fixtures/lab0-redteam/ from lab 0's perfect fixture.

Run after changing lab 0 or an attack (``python tests/course/build_redteam.py``).
Each fixture is a correct lab 0 submission plus code cells that attack the
grader the ways the sandbox-hardening issue found: links and special files left
for the grader to follow, files written for feedback, every network family,
io_uring, new namespaces, fork bombs, memory spread over children, a ``setsid``
survivor, a full disk, floods of output, a notebook that runs out the clock,
and reads of secrets.  The attack cells go after the last check (so a contained
attack costs nothing), except ``rt_slow_total``, whose slow cells come first to
show the time budget at work.  Every attack cell prints one line
``REDTEAM {json}`` saying what each attempt met, so the tests can check the
attempts were really made.  tests/course/test_redteam.py grades them all in one
batch with a perfect submission and checks what the issue demands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_fixtures import RELEASE, answered, right  # noqa: E402  (the lab 0 fixtures' helpers)

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
OUT = ROOT / "grading" / "fixtures" / "lab0-redteam"

#: Where the test puts a root-owned 0600 file no submission may read, link to or change.
CANARY = "/var/tmp/labkit-redteam-canary"
#: Loopback ports tried when no ports.json sits beside the notebook (the test writes one with
#: the ports it really listens on); no byte may arrive.
PORTS = {"tcp": 47101, "mptcp": 47102, "udp": 47103, "tcp6": 47104}
#: Marker in the command line of a process that tries to outlive grading.
SURVIVOR = "labkit-redteam-survivor"

PRELUDE = '''
import json, os, socket, sys, time
redteam = {}
def attempt(label, action):
    try:
        action()
        redteam[label] = "ALLOWED"
    except Exception as exc:
        redteam[label] = type(exc).__name__
'''
REPORT = 'print("REDTEAM", json.dumps(redteam, sort_keys=True))'

ATTACKS: dict[str, str] = {
    "rt_symlinks": f'''
attempt("link notebook to canary", lambda: os.symlink({CANARY!r}, "lab0-orientation.ipynb"))
attempt("link loop", lambda: os.symlink(".", "loop"))
attempt("link to zero device", lambda: os.symlink("/dev/zero", "zeros"))
attempt("link gradebook", lambda: os.symlink("../../gradebook.db", "gradebook.db"))
attempt("read canary", lambda: open({CANARY!r}).read())
attempt("write canary", lambda: open({CANARY!r}, "a").write("x"))
''',
    "rt_special_files": '''
attempt("named pipe", lambda: os.mkfifo("pipe"))
attempt("socket file", lambda: socket.socket(socket.AF_UNIX).bind("sock"))
def hard_link():
    with open("big", "wb") as fh:
        fh.write(b"x" * (60 << 20))
    os.link("big", "big2")
attempt("hard link", hard_link)
attempt("sparse 1.9 GiB", lambda: open("sparse", "wb").truncate(1900 << 20))
''',
    "rt_notes_leak": '''
import glob
found = []
for pattern in ("*.ipynb", "../*.ipynb", "../../*/*.ipynb", "/labkit/**/*.ipynb", "/*/*.ipynb",
                "/*/*/*.ipynb", os.path.expanduser("~/.ipython/**/history.sqlite")):
    found += glob.glob(pattern, recursive=True)
redteam["notebooks or history files found"] = len(found)
with open("notes.txt", "w") as fh:
    fh.write("NOTES" + "-LEAK-" + "7f3a " + json.dumps(found))
history = os.path.expanduser("~/.ipython/profile_default/history.sqlite")
attempt("read own history db", lambda: open(history, "rb").read())
''',
    "rt_network": f'''
ports = {PORTS!r}
if os.path.exists("ports.json"):               # the grader's test may hand over its own ports
    ports = json.load(open("ports.json"))
def send(family, kind, proto, address, payload=b"REDTEAM"):
    s = socket.socket(family, kind, proto)
    s.settimeout(2)
    if kind == socket.SOCK_DGRAM:
        s.sendto(payload, address)
    else:
        s.connect(address)
        s.sendall(payload)
attempt("tcp connect", lambda: send(socket.AF_INET, socket.SOCK_STREAM, 0, ("127.0.0.1", ports["tcp"])))
attempt("mptcp connect", lambda: send(socket.AF_INET, socket.SOCK_STREAM, 262, ("127.0.0.1", ports["mptcp"])))
attempt("udp send", lambda: send(socket.AF_INET, socket.SOCK_DGRAM, 0, ("127.0.0.1", ports["udp"])))
attempt("tcp6 connect", lambda: send(socket.AF_INET6, socket.SOCK_STREAM, 0, ("::1", ports["tcp6"])))
attempt("dns lookup", lambda: socket.getaddrinfo("example.com", 80))
attempt("netlink socket", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
attempt("packet socket", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
attempt("listen on all interfaces", lambda: socket.socket().bind(("0.0.0.0", 47199)))
''',
    "rt_io_uring": '''
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def io_uring():
    params = ctypes.create_string_buffer(120)
    if libc.syscall(425, 8, params) < 0:
        raise PermissionError(ctypes.get_errno(), "io_uring_setup")
attempt("io_uring_setup", io_uring)
open("own.txt", "w").write("x")
attempt("setxattr", lambda: os.setxattr("own.txt", "user.redteam", b"1"))
''',
    "rt_namespaces": '''
import ctypes, platform
libc = ctypes.CDLL(None, use_errno=True)
clone_nr = {"x86_64": 56, "aarch64": 220}[platform.machine()]
def check(result, what):
    if result < 0:
        raise PermissionError(ctypes.get_errno(), what)
    if result == 0 and what == "clone":
        os._exit(0)                       # a child made by a raw clone: leave at once
attempt("unshare user", lambda: check(libc.unshare(0x10000000), "unshare"))
attempt("unshare network", lambda: check(libc.unshare(0x40000000), "unshare"))
attempt("clone new user", lambda: check(libc.syscall(clone_nr, 0x10000000 | 17, 0, 0, 0, 0), "clone"))
attempt("setns", lambda: check(libc.setns(os.open("/proc/self/ns/net", os.O_RDONLY), 0), "setns"))
''',
    "rt_fork_bomb": '''
forked = refused = 0
for _ in range(500):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        try:
            # deaf to the terminate the kernel sends its children when asked to shut down, as
            # a hostile child would be: they are still running when the kernel ends
            import signal
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(120)
        finally:
            os._exit(0)
    forked += 1
redteam["forked"], redteam["refused"] = forked, refused
''',
    "rt_memory_hog": '''
children = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        try:
            blob = b"\\x01" * (1 << 30)        # 1 GiB written, so every page is really used
            time.sleep(20)
        finally:
            os._exit(0)
    children.append(pid)
killed, deadline = 0, time.monotonic() + 15      # a loaded machine pages slowly
while children and time.monotonic() < deadline:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.remove(pid)
            killed += os.WIFSIGNALED(status)
    time.sleep(0.1)
redteam["children killed"] = killed
''',
    "rt_survivor": f'''
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(900)", {SURVIVOR!r}])
    finally:
        os._exit(0)
os.waitpid(pid, 0)
redteam["survivor started"] = True
''',
    "rt_disk_fill": '''
written = 0
def fill():
    global written
    for i in range(34):
        with open(f"fill-{i}.bin", "wb") as fh:
            fh.write(b"\\x02" * (60 << 20))
        written += 1
attempt("34 files of 60 MiB", fill)
redteam["files written"] = written
''',
    "rt_big_output": '''
for _ in range(10):
    print("x" * 40_000_000, flush=True)        # ten separate outputs of 40 MB
''',
    "rt_secrets": '''
redteam["environment names"] = sorted(os.environ)
attempt("grader token in environment", lambda: [k for k in os.environ if "REDTEAM" in k][0])
attempt("read /etc/shadow", lambda: open("/etc/shadow").read())
commands = []
for entry in os.listdir("/proc"):
    if entry.isdigit():
        try:
            commands.append(open(f"/proc/{entry}/cmdline").read().replace("\\0", " "))
        except OSError:
            pass
redteam["processes visible"] = len(commands)
redteam["course paths in command lines"] = sum("grading" in c or "submitted" in c for c in commands)
attempt("read process 1 environment", lambda: open("/proc/1/environ").read())
''',
}
#: slow cells that run out the submission's clock (placed before the questions)
SLOW_CELLS = 8
SLOW = "import time\ntime.sleep(9)"


def _after(nb: nbformat.NotebookNode, grade_id: str) -> int:
    for i, c in enumerate(nb.cells):
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i + 1
    raise KeyError(grade_id)


def correct(student: str) -> nbformat.NotebookNode:
    """The release answered right for ``student`` (Q2 and Q3 have numbers of their own)."""
    return answered(nbformat.read(RELEASE, as_version=4), right(student))


def build() -> dict[str, nbformat.NotebookNode]:
    out = {"rt_perfect": correct("rt_perfect")}
    at = _after(out["rt_perfect"], "q3_check")
    for name, code in ATTACKS.items():
        nb = correct(name)
        cell = new_code_cell((PRELUDE + code).strip() + "\n" + REPORT)
        cell["id"] = "redteam-attack"                # stable, so rebuilding changes nothing
        nb.cells.insert(at, cell)
        out[name] = nb
    nb = correct("rt_slow_total")
    first = _after(nb, "q1_check") - 2              # before Q1's answer cell
    for k in range(SLOW_CELLS):
        cell = new_code_cell(SLOW)
        cell["id"] = f"redteam-slow-{k}"
        nb.cells.insert(first + k, cell)
    out["rt_slow_total"] = nb
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    built = build()
    for name, nb in built.items():
        nbformat.write(nb, OUT / f"{name}.ipynb")
    (OUT / "ATTACKS.json").write_text(json.dumps({"canary": CANARY, "ports": PORTS,
                                                  "survivor": SURVIVOR}, indent=1) + "\n")
    print(f"wrote {len(built)} red-team fixtures to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
