"""Where the course lives: the folders nbgrader works over, read from ``nbgrader_config.py``.

The repository root is the nbgrader course directory.  ``nbgrader_config.py``
there is the single source of truth for the layout (``source/``,
``release/``, and the instructor's workspace under ``grading/``: submitted,
autograded and feedback folders and the gradebook); :class:`Course` loads it
so the wrappers and a plain ``nbgrader`` command agree on every path.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError

__all__ = ["Course", "CourseError", "CONFIG_NAME", "grading_environment", "check_name"]

CONFIG_NAME = "nbgrader_config.py"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CourseError(LabkitError, RuntimeError):
    """A course command could not do its job; the message names the file or lab and the rule."""


def check_name(kind: str, value: str) -> str:
    """A lab or student id must be a plain folder name (no paths, no globs)."""
    if not isinstance(value, str) or not _NAME.match(value) or value in (".", ".."):
        raise CourseError(f"{kind} must be a plain name of letters, digits, '.', '_' or '-', "
                          f"got {value!r}")
    return value


def grading_environment() -> dict[str, str]:
    """The environment nbgrader runs in: this interpreter's ``bin/`` first on PATH.

    nbgrader calls the ``alembic`` executable when it creates a gradebook, so
    the virtual environment's ``bin/`` must be on PATH even when ``labkit``
    was started by its full path.
    """
    env = dict(os.environ)
    bindir = os.path.dirname(os.path.abspath(sys.executable))
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _load_config(path: Path) -> Any:
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader(path.name, path=str(path.parent))
    return loader.load_config()


@dataclass(frozen=True, kw_only=True)
class Course:
    """A course directory with its nbgrader configuration."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> Course:
        path = Path(root).resolve()
        if not (path / CONFIG_NAME).is_file():
            raise CourseError(f"{path / CONFIG_NAME} not found: the course root must hold "
                              f"{CONFIG_NAME} (run from the labkit repository or pass --root)")
        return cls(root=path)

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Course:
        """The course whose root is ``start`` or its nearest parent holding nbgrader_config.py."""
        try:
            here = Path(start or os.getcwd()).resolve()
        except OSError as exc:        # the current folder was deleted under us
            raise CourseError(f"cannot tell where the course is: {exc}; pass --root") from None
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file() and (folder / "source").is_dir():
                return cls(root=folder)
        raise CourseError(f"no {CONFIG_NAME} next to a source/ folder in {here} or its parents; "
                          f"run labkit course from the labkit repository or pass --root")

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_NAME

    def config(self) -> Any:
        """The traitlets Config from ``nbgrader_config.py``."""
        return _load_config(self.config_file)

    def _dir(self, trait: str) -> Path:
        value = self.config().CourseDirectory.get(trait)
        if not value:
            raise CourseError(f"{self.config_file}: CourseDirectory.{trait} must be set")
        return (self.root / value).resolve()

    @property
    def source_dir(self) -> Path:
        return self._dir("source_directory")

    @property
    def release_dir(self) -> Path:
        return self._dir("release_directory")

    @property
    def submitted_dir(self) -> Path:
        return self._dir("submitted_directory")

    @property
    def autograded_dir(self) -> Path:
        return self._dir("autograded_directory")

    @property
    def feedback_dir(self) -> Path:
        return self._dir("feedback_directory")

    @property
    def grading_dir(self) -> Path:
        return self.root / "grading"

    @property
    def logs_dir(self) -> Path:
        return self.grading_dir / "logs"

    @property
    def db_url(self) -> str:
        url = self.config().CourseDirectory.get("db_url")
        if not url:
            raise CourseError(f"{self.config_file}: CourseDirectory.db_url must be set")
        return str(url)

    @property
    def db_path(self) -> Path:
        url = self.db_url
        if not url.startswith("sqlite:///"):
            raise CourseError(f"{self.config_file}: db_url must be a sqlite:/// URL, got {url!r}")
        return Path(url[len("sqlite:///"):])

    def labs(self) -> list[str]:
        """Every lab in ``source/``: a folder holding a notebook of the same name."""
        if not self.source_dir.is_dir():
            raise CourseError(f"{self.source_dir} does not exist")
        return sorted(p.name for p in self.source_dir.iterdir()
                      if p.is_dir() and (p / f"{p.name}.ipynb").is_file())

    def check_lab(self, lab: str) -> str:
        check_name("lab", lab)
        if lab not in self.labs():
            known = ", ".join(self.labs()) or "none"
            raise CourseError(f"lab {lab!r} not found in {self.source_dir} (labs: {known})")
        return lab

    def submissions(self, lab: str) -> list[str]:
        """Students who submitted ``lab``: a real ``<submitted>/<student>/<lab>/`` folder.

        Links are never followed: a student folder that is a symbolic link is
        not a submission (it could point at another learner's work).
        """
        if not self.submitted_dir.is_dir():
            return []
        found = []
        for entry in os.scandir(self.submitted_dir):
            if not entry.is_dir(follow_symlinks=False) or not _NAME.match(entry.name):
                continue
            lab_dir = Path(entry.path) / lab
            try:
                if stat.S_ISDIR(os.lstat(lab_dir).st_mode):
                    found.append(entry.name)
            except OSError:
                continue
        return sorted(found)

    def refused_submissions(self, lab: str) -> dict[str, str]:
        """Entries of the submitted folder that look like a submission of ``lab`` but are not
        real folders (student id -> why), so the grader can say it did not follow them."""
        if not self.submitted_dir.is_dir():
            return {}
        refused = {}
        for entry in os.scandir(self.submitted_dir):
            for path, what in ((Path(entry.path), "the student folder"),
                               (Path(entry.path) / lab, f"the {lab} folder")):
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    break
                if not stat.S_ISDIR(mode):
                    if stat.S_ISLNK(mode):
                        refused[entry.name] = f"refused: {what} is a symbolic link (not followed)"
                    break
        return dict(sorted(refused.items()))
