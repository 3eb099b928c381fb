"""The course pipeline: nbgrader source → release → autograde → feedback → grades.

One module per step, each a thin wrapper over nbgrader 0.9 (configured by
``nbgrader_config.py`` at the repository root), and the ``labkit course``
subcommands call them:

* :mod:`~labkit.course.release`: regenerate ``release/`` from ``source/`` and
  prove it leaks no solution, hidden test or mark scheme;
* :mod:`~labkit.course.collect`: file handed-in notebooks for grading;
* :mod:`~labkit.course.autograde`: grade submissions in parallel, each in an
  isolated copy, with the grades a serial run gives;
* :mod:`~labkit.course.sandbox`, :mod:`~labkit.course.seccomp`,
  :mod:`~labkit.course.kernel`: how student code runs (own folder only,
  memory, CPU and per-cell time limits, a kernel killed and replaced when it
  ignores an interrupt);
* :mod:`~labkit.course.cells`: restoring tampered check cells, scrubbing
  feedback;
* :mod:`~labkit.course.answers`, :mod:`~labkit.course.judge`: answers taken
  out of the learner's kernel as plain data and judged in a fresh kernel that
  never ran learner code;
* :mod:`~labkit.course.standard`: pass standards and time limits of assessments;
* :mod:`~labkit.course.items`, :mod:`~labkit.course.itemstats`,
  :mod:`~labkit.course.item_analysis`: the graded items and how they performed;
* :mod:`~labkit.course.feedback`, :mod:`~labkit.course.export`,
  :mod:`~labkit.course.validate`: feedback pages, the grades CSV, and a
  validation verdict learners cannot misread.

Submodules are imported on use, so ``import labkit.course`` does not load nbgrader.
"""

__all__ = ["answers", "autograde", "cells", "cgroups", "collect", "export", "feedback", "gradebook",
           "item_analysis", "items", "itemstats", "jail", "judge", "kernel", "landlock", "layout",
           "nsinit", "release", "sandbox", "seccomp", "standard", "untrusted", "validate",
           "worker"]
