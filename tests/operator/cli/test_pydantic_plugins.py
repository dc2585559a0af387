"""The pull-request commands turn pydantic's plugin lookup off; the others leave it alone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tuning_operator.cli import without_pydantic_plugins


@pytest.mark.parametrize(("argv", "expected"), [
    (["validate"], "__all__"), (["plan", "--offline"], "__all__"), (["schema"], "__all__"),
    (["run"], None), ([], None),
])
def test_only_the_pull_request_commands_turn_plugins_off(
        monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: str | None) -> None:
    """validate, plan and schema set the switch; any other command does not."""
    monkeypatch.delenv("PYDANTIC_DISABLE_PLUGINS", raising=False)
    without_pydantic_plugins(argv)
    assert os.environ.get("PYDANTIC_DISABLE_PLUGINS") == expected


def test_a_value_the_user_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """PYDANTIC_DISABLE_PLUGINS set by the user (one plugin's name) is not overwritten."""
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "logfire")
    without_pydantic_plugins(["validate"])
    assert os.environ["PYDANTIC_DISABLE_PLUGINS"] == "logfire"


def test_a_fresh_schema_run_never_looks_plugins_up() -> None:
    """In a fresh process nothing imports pydantic before `main` runs, and `schema` builds its
    models without pydantic ever looking its plugins up."""
    code = ("import os, sys; from tuning_operator import cli; assert 'pydantic' not in sys.modules;"
            " env = os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None); assert env is None;"
            " import pydantic.plugin._loader as loader; cli.main(['schema']);"
            " assert loader._plugins is None, 'the plugins were looked up'")
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
