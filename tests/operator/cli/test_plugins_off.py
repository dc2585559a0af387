"""The stand-in for pydantic's plugin loader: `validate` never imports `importlib.metadata`,
and the stand-in answers as pydantic's loader does, or hands over to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuning_operator.cli import plugins_off

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "jobs" / "support" / \
    "reply-tone-v1.yaml"


def fresh(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter, PYDANTIC_DISABLE_PLUGINS unset unless given."""
    environ = {k: v for k, v in os.environ.items() if k != plugins_off.SWITCH}
    done = subprocess.run([sys.executable, "-c", code], env={**environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_validate_never_imports_importlib_metadata(tmp_path: Path) -> None:
    """A fresh `validate` builds its models, validates a file and reports it as before, with
    the stand-in in pydantic's loader's place and no package metadata read."""
    jobs = tmp_path / "jobs" / "support"
    jobs.mkdir(parents=True)
    (jobs / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    done = fresh(
        "import sys; from tuning_operator import cli;"
        f" code = cli.main(['validate', '--jobs-dir', {str(tmp_path / 'jobs')!r}]);"
        " assert code == 0, code;"
        " assert 'importlib.metadata' not in sys.modules, 'importlib.metadata imported';"
        " assert sys.modules['pydantic.plugin._loader'].__stand_in__ is True")
    assert done.stdout.startswith("1 valid job(s), 0 error(s), 0 warning(s)")


def test_plugins_switched_on_again_hand_over_to_pydantic() -> None:
    """With the switch no longer off, `get_plugins` is pydantic's own: its module replaces the
    stand-in and looks the plugins up."""
    fresh("import os, sys; from tuning_operator.cli import plugins_off as p;"
          " os.environ[p.SWITCH] = '__all__'; assert p.install();"
          " stand_in = sys.modules[p.LOADER]; assert tuple(stand_in.get_plugins()) == ();"
          " assert 'importlib.metadata' not in sys.modules;"
          " del os.environ[p.SWITCH];"
          " from pydantic.plugin._loader import get_plugins; list(get_plugins());"
          " real = sys.modules[p.LOADER]; assert real is not stand_in;"
          " assert real._plugins is not None, 'not looked up';"
          " assert 'importlib.metadata' in sys.modules")


def test_other_names_come_from_pydantic_and_dunders_do_not() -> None:
    """A name the stand-in lacks is pydantic's loader's; `__path__` (which the import system
    asks for) or `__file__` is missing without importing pydantic's module."""
    fresh("import os, sys; from tuning_operator.cli import plugins_off as p;"
          " os.environ[p.SWITCH] = 'true'; assert p.install(); stand_in = sys.modules[p.LOADER];"
          " assert not hasattr(stand_in, '__path__') and not hasattr(stand_in, '__file__');"
          " assert sys.modules[p.LOADER] is stand_in; repr(stand_in);"
          " assert stand_in.PYDANTIC_ENTRY_POINT_GROUP == 'pydantic';"
          " assert sys.modules[p.LOADER] is not stand_in")


def test_nothing_is_installed_unless_every_plugin_is_off() -> None:
    """One plugin's name in the switch, or no switch: pydantic's loader as it is."""
    fresh("import os, sys; from tuning_operator.cli import plugins_off as p;"
          " assert not p.install() and p.LOADER not in sys.modules;"
          " os.environ[p.SWITCH] = 'logfire';"
          " assert not p.install() and p.LOADER not in sys.modules")


def test_an_imported_loader_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once pydantic's loader is imported (here: this process built models), it stays."""
    import pydantic.plugin._loader as loader

    monkeypatch.setenv(plugins_off.SWITCH, "__all__")
    assert not plugins_off.install()
    assert sys.modules[plugins_off.LOADER] is loader
