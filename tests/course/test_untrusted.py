"""labkit.course.untrusted: copying a folder a learner shaped, without following or opening anything odd."""

from __future__ import annotations

import os
import socket

import pytest

from labkit.course.layout import CourseError
from labkit.course.untrusted import TreeLimits, copy_tree, read_regular_file, scan_tree


@pytest.fixture()
def hostile(tmp_path):
    """A folder with one good file, one good subfolder and every kind of trap."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "answer.txt").write_text("42")
    (src / "sub" / "notes.md").write_text("ok")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    (src / "link").symlink_to(secret)
    (src / "loop").symlink_to(".")
    (src / "zeros").symlink_to("/dev/zero")
    (src / "dirlink").symlink_to(tmp_path)
    os.mkfifo(src / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock"))
    (src / "hard").write_text("two names")
    os.link(src / "hard", src / "hard2")
    with open(src / "sparse", "wb") as fh:
        fh.truncate(2 << 30)                 # 2 GiB apparent, nothing on disk
    yield src
    sock.close()


def test_only_regular_single_files_and_folders_are_copied(hostile, tmp_path):
    report = copy_tree(hostile, tmp_path / "dst", limits=TreeLimits(max_bytes=1 << 20))
    assert report.files == ("answer.txt", "sub/notes.md")
    assert report.bytes == 4
    kinds = sorted((r.path, r.kind) for r in report.refused)
    assert kinds == [("dirlink", "symbolic link"), ("hard", "hard-linked file"),
                     ("hard2", "hard-linked file"), ("link", "symbolic link"),
                     ("loop", "symbolic link"), ("pipe", "named pipe"), ("sock", "socket"),
                     ("sparse", "file over the size limit"), ("zeros", "symbolic link")]
    copied = sorted(str(p.relative_to(tmp_path / "dst")) for p in (tmp_path / "dst").rglob("*"))
    assert copied == ["answer.txt", "sub", "sub/notes.md"]
    assert all(not p.is_symlink() for p in (tmp_path / "dst").rglob("*"))


def test_counts_and_depth_are_capped(tmp_path):
    src = tmp_path / "many"
    deep = src
    for i in range(5):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    for i in range(5):
        (src / f"f{i}").write_text("x")
    (deep / "bottom.txt").write_text("x")
    report = copy_tree(src, tmp_path / "dst", limits=TreeLimits(max_files=3, max_depth=3))
    assert len(report.files) == 3
    reasons = sorted(r.reason for r in report.refused)
    assert reasons[0] == "folders nested deeper than 3 levels"
    assert reasons.count("more than 3 files") == 2


def test_a_refused_root_or_failed_copy_leaves_nothing(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "keep.txt").write_text("earlier")
    (tmp_path / "alias").symlink_to(tmp_path / "target")
    with pytest.raises(CourseError, match="a symbolic link"):
        copy_tree(tmp_path / "alias", tmp_path / "out")
    with pytest.raises(CourseError, match="already exists"):
        copy_tree(tmp_path / "target", tmp_path / "target")
    assert (tmp_path / "target" / "keep.txt").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias", "target"]   # no staging left


def test_replace_swaps_in_a_complete_copy(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "new.txt").write_text("new")
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "old.txt").write_text("old")
    copy_tree(tmp_path / "src", tmp_path / "dst", replace=True)
    assert [p.name for p in (tmp_path / "dst").iterdir()] == ["new.txt"]


def test_scan_reports_without_copying(hostile):
    report = scan_tree(hostile, limits=TreeLimits(max_bytes=1 << 40))
    assert report.files == ("answer.txt", "sparse", "sub/notes.md")
    assert report.bytes == 4 + (2 << 30)                 # apparent sizes: the sparse file counts
    assert {r.kind for r in report.refused} == {"symbolic link", "named pipe", "socket",
                                                  "hard-linked file"}


@pytest.mark.parametrize("name, message", [
    ("link", "a symbolic link (not followed); hand in the notebook file itself"),
    ("pipe", "a named pipe (not opened); hand in the notebook file itself"),
    ("hard", "a file with 2 hard links; hand in a plain copy"),
    ("sparse", "2147483648 bytes, more than the 1000 bytes a submission may have"),
])
def test_reading_one_file_refuses_traps_with_a_message(hostile, name, message):
    with pytest.raises(CourseError) as info:
        read_regular_file(hostile / name, max_bytes=1000)
    assert str(info.value) == f"{hostile / name}: {message}"


def test_reading_one_regular_file(hostile):
    assert read_regular_file(hostile / "answer.txt", max_bytes=10) == b"42"
