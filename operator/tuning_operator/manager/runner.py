"""The whole operator in a background thread of this process, like kopf's `KopfRunner`.

`tuning-operator run` in a new interpreter costs seconds of imports; a test, a notebook or a
program that embeds the operator can run the same manager, with the same settings (flags'
names, `TUNING_OPERATOR_*` environment, defaults), in a thread instead:

    with OperatorRunner(jobs_dir="jobs", state_dir="state", until_settled=True) as runner:
        runner.wait(timeout=60)
    assert runner.exit_code == 0, runner.output

`stop()` drains like SIGTERM: the pass in flight finishes, events are flushed, the lease is
released. No signal handler is installed (Python allows them on the main thread only, and the
process is not the operator's). Logs go to `runner.output` unless `log_file` is set; the
previous logging configuration comes back when the runner exits.
"""

from __future__ import annotations

import argparse
import io
import os
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from tuning_operator.manager.composition import Manager, Shutdown, configure_logging
from tuning_operator.manager.settings import DEFAULTS, resolve_settings, validate_settings

if TYPE_CHECKING:
    from tuning_operator.reconciling.status import StatusView


class OperatorRunner:
    """Runs the operator in a thread from `__enter__` until it ends by itself or is stopped.

    `settings`: any of `tuning-operator run`'s settings by their names (`jobs_dir`, `once`,
    `vertex_endpoint`, ...); `environ` (default: this process's) supplies `TUNING_OPERATOR_*`.
    A run that raised re-raises on exit unless `reraise=False`; see `exception`.
    """

    def __init__(self, *, environ: Mapping[str, str] | None = None, reraise: bool = True,
                 **settings: Any) -> None:
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"unknown settings {', '.join(unknown)};"
                            f" known: {', '.join(sorted(DEFAULTS))}")
        self._arguments = argparse.Namespace(**settings)
        self._environ = dict(os.environ if environ is None else environ)
        self._reraise = reraise
        self._shutdown = Shutdown()
        self._output = io.StringIO()
        self._log_file: TextIO | None = None
        self._logging: dict[str, Any] | None = None
        self._manager: Manager | None = None
        self._thread: threading.Thread | None = None
        self.exit_code: int | None = None  # the run's exit code, as `run` would exit
        self.exception: BaseException | None = None  # what the run raised, if anything

    def __enter__(self) -> OperatorRunner:
        """Validate the settings here (a ConfigError is the caller's), then start the run."""
        import structlog

        settings = validate_settings(resolve_settings(self._arguments, self._environ))
        self._logging = structlog.get_config()
        self._log_file = configure_logging(settings.log_file, stream=self._output)
        self._thread = threading.Thread(target=self._run, args=(settings,),
                                        name="tuning-operator", daemon=True)
        self._thread.start()
        return self

    def _run(self, settings: argparse.Namespace) -> None:
        try:
            with Manager(settings, shutdown=self._shutdown, owns_process=False) as manager:
                self._manager = manager
                self.exit_code = manager.run()
        except BaseException as exc:  # handed to the caller's thread on exit
            self.exception = exc

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def output(self) -> str:
        """The operator's JSON log lines so far (empty when they go to `log_file`)."""
        return self._output.getvalue()

    @property
    def status(self) -> StatusView | None:
        """The running operator's read-only view of its jobs (None until it is built)."""
        return None if self._manager is None else self._manager.status

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the run to end by itself (`once`, `until_settled`); its exit code."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the operator is still running after {timeout} s")
        return self.exit_code

    def stop(self, timeout: float | None = 30.0) -> int | None:
        """Drain like SIGTERM: finish the pass in flight, flush, release the lease; exit code."""
        self._shutdown.request()
        return self.wait(timeout)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        import structlog

        try:
            self.stop()
        finally:
            if self._logging is not None:
                structlog.configure(**self._logging)
            if self._log_file is not None:
                self._log_file.close()
        if self._reraise and exc_type is None and self.exception is not None:
            raise self.exception
