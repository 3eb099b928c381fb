"""nbgrader 0.9 configuration for the labkit course.

The repository root is the course directory.  Lab authors write source
notebooks in ``source/<lab>/<lab>.ipynb``; ``labkit course release`` turns
them into the student versions in ``release/<lab>/`` (committed).  Everything
the instructor produces while grading lives under ``grading/`` (git-ignored
apart from its README and test fixtures).

Plain ``nbgrader`` commands run from this folder read this file too, so they
get the same layout, the sandboxed and time-limited execution of student
code, the tamper-proof cell restoration and the scrubbed feedback.  Use the
``labkit course`` wrappers for parallel autograding and checked output.
Option names are nbgrader 0.9.6's (see ``nbgrader --help-all``).  Preprocessors are
named by dotted path, so reading this file imports nothing (learner-side
nbgrader extensions that read it never load the grading code).
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
HERE = os.path.dirname(os.path.abspath(__file__))

# --- layout -----------------------------------------------------------------
c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "labkit"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.solution_directory = os.path.join("grading", "solution")
c.CourseDirectory.source_with_tests_directory = os.path.join("grading", "source_with_tests")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "grading", "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# --- release (generate_assignment) ------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True
c.ClearMarkScheme.enforce_metadata = True

# --- autograde: restore tampered cells, then run student code in a sandbox ---
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput", "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec", "labkit.course.cells.RestoreCells",
    "nbgrader.preprocessors.CheckCellMetadata"]
c.Autograde.autograde_preprocessors = [
    "labkit.course.kernel.SandboxedExecute", "labkit.course.judge.TrustedJudge",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata"]
c.OverwriteCells.add_missing_cells = True          # deleted test cells come back (RestoreCells)
c.Execute.timeout = 30                             # seconds per cell
c.Execute.iopub_timeout = 5                        # grace after an interrupt before SIGKILL
c.Execute.interrupt_on_timeout = True
c.SandboxedExecute.sandbox = True                  # own root, user, cgroup; no network (needs root)
c.SandboxedExecute.trusted = True                  # checks judged in a fresh kernel, on plain data
# (False runs check cells in the learner's own kernel, as stock nbgrader does: their code can
# decide its own grade there)
c.SandboxedExecute.submission_timeout = 1800       # wall-clock seconds per notebook, all cells
c.SandboxedExecute.max_cell_output_bytes = 16 * 1024 ** 2   # output one cell may keep
c.SandboxedExecute.max_output_bytes = 64 * 1024 ** 2        # output one notebook may keep
# Per submission (the kernel and everything it starts, in one cgroup); 0 switches a limit off.
c.SandboxKernelManager.memory_mb = 2048            # total memory, its work folder included
c.SandboxKernelManager.processes = 128             # processes and threads at once
c.SandboxKernelManager.cpus = 1.0                  # CPUs at once
c.SandboxKernelManager.work_mb = 256               # its only writable folder (HOME, cwd, /tmp)
c.SandboxKernelManager.cpu_s = 900                 # CPU seconds per process
c.SandboxKernelManager.file_mb = 64                # largest file it may write
c.SandboxKernelManager.pass_env = ["PYTHONPATH"]   # the only grader variables a kernel sees

# --- feedback: no hidden tests or mark schemes, not even in tracebacks -------
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades", "labkit.course.cells.ScrubFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
