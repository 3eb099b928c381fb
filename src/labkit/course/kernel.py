"""Executing a submission: a sandboxed kernel, and a cell runner that never gives up on a student.

nbgrader's ``Execute`` preprocessor interrupts a cell that runs past
``Execute.timeout``.  A loop that swallows ``KeyboardInterrupt`` ignores the
interrupt; the kernel then never reports "idle", nbclient raises a timeout
error while waiting for its output (``raise_on_iopub_timeout``), and
nbgrader's converter catches that as a failed submission and **deletes the
whole autograded submission** (the student is dropped from the batch).  A
kernel killed by its memory or CPU limit (``DeadKernelError``) meets the same
fate.

:class:`SandboxedExecute` enforces the limit at kernel level instead: when a
cell times out and the kernel does not come back within
``iopub_timeout`` seconds, or the kernel dies, the cell gets an error output
saying so (the cell scores zero), the kernel's whole process group is killed
with ``SIGKILL``, a fresh kernel starts, the cells above are re-run silently
to restore the state the rest of the notebook depends on, and grading goes
on with the next cell.  Every kernel is started through
:mod:`labkit.course.sandbox` by :class:`SandboxKernelManager`.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from labkit.course.sandbox import SandboxLimits

__all__ = ["SandboxKernelManager", "SandboxedExecute"]


class SandboxKernelManager(AsyncKernelManager):
    """Start the kernel through :mod:`labkit.course.sandbox` with resource limits."""

    memory_mb = Integer(SandboxLimits.memory_mb, help="Address-space limit of a grading kernel, "
                        "in MiB (0 = none).").tag(config=True)
    cpu_s = Integer(SandboxLimits.cpu_s, help="CPU seconds a grading kernel may use in total "
                    "(0 = none).").tag(config=True)
    file_mb = Integer(SandboxLimits.file_mb, help="Largest file a grading kernel may write, in "
                      "MiB.").tag(config=True)
    processes = Integer(SandboxLimits.processes, help="Process limit (enforced for non-root "
                        "graders).").tag(config=True)
    kernel_log = Unicode("", help="File receiving the kernel process's own stdout and stderr "
                         "(startup messages, crashes); empty = discard.").tag(config=True)

    _scratch: str | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        limits = SandboxLimits(memory_mb=self.memory_mb, cpu_s=self.cpu_s,
                               file_mb=self.file_mb, processes=self.processes)
        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="labkit-kernel-")
        log = ["--log", self.kernel_log] if self.kernel_log else []
        return [sys.executable, "-m", "labkit.course.sandbox", *limits.as_args(),
                "--scratch", self._scratch, *log, "--", *cmd]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._scratch is not None and not restart:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # shutdown_kernel calls _async_cleanup_resources; nbclient calls cleanup_resources
    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]


_STOPPERS = ("CellTimeoutError", "KernelDied", "KernelGaveUp")


def _stopped_kernel(cell: NotebookNode) -> bool:
    """Did this cell time out or kill its kernel?  Such cells are not re-run."""
    return any(out.get("output_type") == "error" and out.get("ename") in _STOPPERS
               for out in cell.get("outputs", []))


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with sandboxed kernels and kernel-level time enforcement."""

    sandbox = Bool(True, help="Start kernels through labkit.course.sandbox (Landlock, seccomp, "
                   "rlimits). Switch off only for trusted notebooks.").tag(config=True)
    max_restarts = Integer(5, help="Kernel restarts allowed per notebook; after that the "
                           "remaining cells are marked as not run.").tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.sandbox:
            self.kernel_manager_class = SandboxKernelManager
        self._restarts = 0

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        self._restarts = 0
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        self._check_assign_resources(resources)
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        if self._restarts > self.max_restarts:
            cell.outputs = [_error_output("KernelGaveUp", "not run: the kernel had to be "
                                          "restarted too many times in this notebook")]
            return cell, self.resources
        try:
            cell = self.execute_cell(cell, index, store_history=True)
        except CellTimeoutError:
            cell.outputs.append(_error_output(
                "CellTimeoutError", f"this cell ran longer than {self.timeout} s and ignored the "
                "interrupt, so its kernel was stopped; the cells above were re-run in a fresh "
                "kernel and grading went on"))
            self._restart(index)
        except DeadKernelError:
            cell.outputs.append(_error_output(
                "KernelDied", "the kernel stopped while running this cell (it exceeded the memory "
                "or CPU limit, or the code ended the process); the cells above were re-run in a "
                "fresh kernel and grading went on"))
            self._restart(index)
        return cell, self.resources

    def _restart(self, index: int) -> None:
        self._restarts += 1
        run_sync(self._async_restart)(index)

    async def _async_restart(self, index: int) -> None:
        km = self.km
        if km is not None:
            try:
                await km.shutdown_kernel(now=True)      # SIGKILL to the kernel's process group
            except Exception:   # noqa: BLE001 - already dead is fine
                pass
        if self.kc is not None:
            await ensure_async(self.kc.stop_channels())
        self.kc = None
        self.km = self.create_kernel_manager()
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()
        await self._async_replay(index)

    async def _async_replay(self, index: int) -> None:
        """Re-run the code cells above ``index`` without recording their outputs."""
        assert self.kc is not None
        for cell in self.nb.cells[:index]:
            if cell.cell_type != "code" or not cell.source.strip() or _stopped_kernel(cell):
                continue
            if self._restarts > self.max_restarts:
                return
            try:
                await self.kc.execute_interactive(
                    cell.source, store_history=False, allow_stdin=False,
                    timeout=self.timeout, output_hook=lambda msg: None)
            except (TimeoutError, asyncio.TimeoutError, RuntimeError):
                # A cell that ran fine the first time no longer does: start clean and go on.
                self._restarts += 1
                if self.km is not None:
                    await self.km.shutdown_kernel(now=True)
                await ensure_async(self.kc.stop_channels())
                self.km = self.create_kernel_manager()
                await self.async_start_new_kernel()
                await self.async_start_new_kernel_client()

