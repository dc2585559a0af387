"""The `tuning-operator` command.

Each command group lives in its own module with a `register(subparsers)` function; modules
import heavy libraries (Google Cloud, gRPC) only inside the handlers that need them, so
`validate` and `plan --offline` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

COMMAND_MODULES = ("gitops", "operate", "status", "emulator", "datasets", "events", "report",
                   "spend", "aliases")

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuning-operator",
        description="GitOps for Vertex AI supervised tuning of Gemini models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
