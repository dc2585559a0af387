"""The `tuning-operator` command.

Each command group lives in its own module with a `register(subparsers)` function; modules
import heavy libraries (Google Cloud, gRPC) only inside the handlers that need them, so
`validate` and `plan --offline` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

COMMAND_MODULES = ("gitops", "operate", "status", "emulator", "datasets", "events", "report",
                   "spend", "aliases")

Handler = Callable[[argparse.Namespace], int]
# The pull-request commands: short-lived, and their only child process is `git`.
WITHOUT_PYDANTIC_PLUGINS = frozenset({"validate", "plan", "schema"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuning-operator",
        description="GitOps for Vertex AI supervised tuning of Gemini models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def without_pydantic_plugins(argv: Sequence[str]) -> None:
    """Turn pydantic's plugin lookup off for the pull-request commands, before any model exists.

    The first model pydantic builds scans the entry points of every installed package for
    plugins: 10–14 ms of `validate`'s start-up (issue 31), for plugins the operator never uses.
    Pydantic's own switch is an environment variable; it is set only for these commands (whose
    only child process is `git`), and a value the user set is kept.
    """
    if argv[:1] and argv[0] in WITHOUT_PYDANTIC_PLUGINS:
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def main(argv: Sequence[str] | None = None) -> int:
    without_pydantic_plugins(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
