"""How the program is built: components, API ordering, imports, and fresh runs."""

import ast
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from tests.support.pulumi_mocks import ProgramRun, run_program

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICE = "gcp:projects/service:Service"
REQUIRED_APIS = {
    "aiplatform.googleapis.com",
    "pubsub.googleapis.com",
    "storage.googleapis.com",
    "bigquery.googleapis.com",
    "iam.googleapis.com",
    "cloudquotas.googleapis.com",
}


def _imports(root: Path) -> set[str]:
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_every_cloud_resource_belongs_to_a_component(example_stack: ProgramRun) -> None:
    """No cloud resource hangs off the stack directly: each is a child of one component."""
    cloud = [r for r in example_stack.resources if r.custom]
    assert cloud
    for resource in cloud:
        assert "$tuning-operator:infra:" in resource.parent_urn, resource.name


def test_the_apis_are_enabled_and_stay_enabled_on_destroy(example_stack: ProgramRun) -> None:
    """Every API tuning needs is enabled, and destroying the stack never disables one."""
    services = example_stack.of_type(SERVICE)
    assert {s.state["service"] for s in services} >= REQUIRED_APIS
    assert all(s.state["disableOnDestroy"] is False for s in services)


def test_every_other_cloud_resource_waits_for_the_apis(example_stack: ProgramRun) -> None:
    """Nothing is created (or looked up) before all APIs are enabled."""
    apis = {s.urn for s in example_stack.of_type(SERVICE)}
    for resource in example_stack.resources:
        if resource.custom and resource.type != SERVICE:
            assert apis <= set(resource.dependencies), resource.name


def test_the_program_and_the_operator_never_import_each_other() -> None:
    """infra/ imports nothing from tuning_operator, and operator/ nothing from infra."""
    assert not any(name.startswith("tuning_operator") for name in _imports(REPO_ROOT / "infra"))
    assert not any(
        name == "infra" or name.startswith("infra.") for name in _imports(REPO_ROOT / "operator")
    )


def test_pulumi_gcp_is_imported_one_submodule_at_a_time() -> None:
    """`import pulumi_gcp` (which loads every submodule: seconds and hundreds of MB) is banned."""
    gcp_imports = {name for name in _imports(REPO_ROOT / "infra") if name.startswith("pulumi_gcp")}
    assert gcp_imports
    assert all(name.count(".") == 1 for name in gcp_imports), gcp_imports


def test_each_run_starts_from_scratch(minimal_config: dict[str, Any]) -> None:
    """A second run sees none of the first run's stack, config or resources."""
    first = run_program(
        minimal_config | {"tuning-operator:quotaRegions": ["us-central1", "us-west1"],
                          "tuning-operator:quotaScope": "region"}
    )
    second = run_program(minimal_config)
    assert len(first.resources) == len(second.resources) + 1
    assert len({r.urn for r in second.resources}) == len(second.resources)
    assert second.outputs["quotaRegions"] == ["us-central1"]


def test_the_program_runs_as_pulumi_runs_it_without_shadowing_config(
    minimal_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run as `.` from infra/ with the repo root off sys.path, it works and `config` stays free."""
    monkeypatch.chdir(REPO_ROOT / "infra")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".") != REPO_ROOT])
    for name in [name for name in sys.modules if name == "infra" or name.startswith("infra.")]:
        monkeypatch.delitem(sys.modules, name)
    import_paths_at_export: list[set[Path]] = []
    export = pulumi.export

    def export_noting_the_import_path(name: str, value: Any) -> None:
        import_paths_at_export.append({Path(entry or ".").resolve() for entry in sys.path})
        export(name, value)

    monkeypatch.setattr(pulumi, "export", export_noting_the_import_path)
    run = run_program(minimal_config, program=".")
    assert run.outputs["stateBucket"] == "acme-tuning-test-operator-state"
    assert sys.modules["infra.config"].__file__ == str(REPO_ROOT / "infra" / "config.py")
    assert import_paths_at_export
    assert all(REPO_ROOT / "infra" not in paths for paths in import_paths_at_export)
