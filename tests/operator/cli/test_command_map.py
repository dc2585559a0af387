"""The command map that lets `main` import one command module: it names every command, and a
known command's parser holds that command only."""

from __future__ import annotations

import argparse
import json

import pytest

from tuning_operator.cli import COMMANDS, build_parser, main


def commands_of(parser: argparse.ArgumentParser) -> set[str]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(sub.choices)


def test_the_map_names_every_registered_command_and_its_module() -> None:
    assert commands_of(build_parser()) == set(COMMANDS)
    for command, module in COMMANDS.items():
        assert command in commands_of(build_parser(command)), (command, module)


def test_a_known_command_parses_with_its_module_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert commands_of(build_parser("validate")) == {"validate", "plan", "schema"}
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["$defs"]["AliasMetadata"]


def test_help_and_an_unknown_command_list_every_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    told = capsys.readouterr().out
    assert all(command in told for command in COMMANDS)
    with pytest.raises(SystemExit) as exited:
        main(["no-such-command"])
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err
