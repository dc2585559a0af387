"""Placeholder: this command group is being written (see the open issues)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this group's subcommands to the top-level parser."""
    del sub
