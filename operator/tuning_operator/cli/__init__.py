"""The `tuning-operator` command.

Each command group lives in its own module with a `register(subparsers)` function; modules
import heavy libraries (Google Cloud, gRPC) only inside the handlers that need them, so
`validate` and `plan --offline` start fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tuning_operator.cli import plugins_off

# Each command → the module that registers it. Only that module is imported to parse a known
# command: the others' imports cost `validate` ~20 ms of start-up (issue 31, P7). `--help` and
# anything unknown get every command.
COMMANDS = {"validate": "gitops", "plan": "gitops", "schema": "gitops", "run": "operate",
            "demo": "operate", "status": "status", "history": "status", "emulator": "emulator",
            "dataset": "datasets", "events": "events", "report": "report", "spend": "spend",
            "aliases": "aliases"}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))

Handler = Callable[[argparse.Namespace], int]
# The pull-request commands: short-lived, and their only child process is `git`.
WITHOUT_PYDANTIC_PLUGINS = frozenset({"validate", "plan", "schema"})


def terminal_columns() -> int:
    """The terminal's width as `shutil.get_terminal_size().columns` gives it: `COLUMNS`, else
    standard output's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, told the width argparse would compute: argparse makes one for every
    argument added (to check its metavar), and each imports `shutil` for the width; that
    import (with bz2, lzma, fnmatch) was ≈ 2 ms of `validate`'s start-up (issue 31)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's, with `HelpFormatter` by default; its subcommands' parsers are of this class
    too (argparse makes them of the class of the parser they belong to)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; given the command about to be parsed, only its module's commands."""
    parser = ArgumentParser(
        prog="tuning-operator",
        description="GitOps for Vertex AI supervised tuning of Gemini models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    for module in modules:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def without_pydantic_plugins(argv: Sequence[str]) -> None:
    """Turn pydantic's plugin lookup off for the pull-request commands, before any model exists.

    The first model pydantic builds scans the entry points of every installed package for
    plugins: 10–14 ms of `validate`'s start-up (issue 31), for plugins the operator never uses.
    Pydantic's own switch is an environment variable; it is set only for these commands (whose
    only child process is `git`), and a value the user set is kept. With every plugin off,
    pydantic's loader module (which imports `importlib.metadata`) is stood in for
    (`plugins_off`): another ≈ 20 ms of CPU.
    """
    if argv[:1] and argv[0] in WITHOUT_PYDANTIC_PLUGINS:
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        plugins_off.install()


def exiting_without_collection() -> None:
    """The process exits next: what it built is left to the exit, not collected first.

    At exit the interpreter runs full garbage collections over every object it tracks, and
    after `validate` or `plan` that is everything pydantic built: ≈ 20 ms of CPU, a tenth of
    `validate`'s run (issue 31, P7), to find cycles in memory about to be handed back anyway.
    `gc.freeze` moves every tracked object to the permanent generation, which collections
    skip. The exit still flushes the files, runs the `atexit` functions and frees what is not
    in a cycle; only objects in reference cycles are not finalised, which Python does not
    promise at exit either. Only where `main` is the program (`argv` not given) and for the
    pull-request commands: a caller that goes on keeps its collector as it was.
    """
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    without_pydantic_plugins(given)
    args = build_parser(given[0] if given else None).parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if argv is None and given and given[0] in WITHOUT_PYDANTIC_PLUGINS:
            exiting_without_collection()


if __name__ == "__main__":
    sys.exit(main())
