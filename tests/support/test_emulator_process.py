"""The separate-process helper: it reports a start failure with the emulator's own words."""

from __future__ import annotations

import pytest

from tests.support.emulator_process import EmulatorProcess, EmulatorStartError


def test_a_bad_flag_fails_fast_with_the_reason() -> None:
    """An out-of-range --fault-rate stops the CLI; the error carries its message."""
    process = EmulatorProcess(extra_args=("--fault-rate=2",), startup_timeout=30)
    with pytest.raises(EmulatorStartError, match="fault_rate must be between 0 and 1"):
        process.start()


def test_stop_is_idempotent_and_returns_the_exit_code() -> None:
    """SIGTERM ends the emulator cleanly (exit 0); a second stop does nothing."""
    process = EmulatorProcess().start()
    assert process.admin.healthy()
    assert process.stop() == 0
    assert process.stop() is None
