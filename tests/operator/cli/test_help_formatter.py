"""The command line's help formatter: argparse's width, without importing shutil (issue 31)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from tuning_operator.cli import HelpFormatter, build_parser


@pytest.mark.parametrize("columns", [None, "60", "200", "0", "wide"])
def test_the_width_is_argparses(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    """COLUMNS set, unset, zero or not a number: the width argparse itself would use."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert HelpFormatter("x")._width == argparse.HelpFormatter("x")._width


def test_every_parser_formats_with_it() -> None:
    """The subcommands' parsers too, and their help reads as argparse's default formatter's."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    plan = subparsers.choices["plan"]
    assert parser.formatter_class is HelpFormatter and plan.formatter_class is HelpFormatter
    text = plan.format_help()
    plan.formatter_class = argparse.HelpFormatter
    assert plan.format_help() == text


def test_validate_imports_no_shutil() -> None:
    """A fresh `validate --help` (every argument added, help printed) imports no shutil."""
    code = ("import sys\nfrom tuning_operator.cli import main\n"
            "try:\n    main(['validate', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('SHUTIL', 'shutil' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60, env=env)
    assert "SHUTIL False" in done.stdout, done.stdout + done.stderr
