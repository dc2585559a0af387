"""ModelService over the wire: the versions tuning jobs register and Vertex's alias rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions as api
from google.cloud import aiplatform_v1

from tests.support.emulator_process import EmulatorProcess, sample_job
from tuning_operator.emulator import DURATION_LABEL
from tuning_operator.vertex.clients import emulator_factory, emulator_service_factory


@pytest.fixture(params=["grpc", "rest"])
def models(request: pytest.FixtureRequest, emulator: EmulatorProcess) -> Iterator[Any]:
    """The real aiplatform_v1.ModelServiceClient, once per transport."""
    transport = request.param
    endpoint = emulator.grpc_endpoint if transport == "grpc" else emulator.rest_endpoint
    made = emulator_service_factory(aiplatform_v1.ModelServiceClient, endpoint,
                                    transport=transport)("us-central1")
    yield made
    made.transport.close()


def tuned(emulator: EmulatorProcess, parent: str, *, display_name: str = "router",
          continues: str | None = None) -> str:
    """Create a job that succeeds at once; its tuned model (`…/models/ID@VERSION`)."""
    client = emulator_factory(emulator.grpc_endpoint)("us-central1")
    job = sample_job(labels={DURATION_LABEL: "0"})
    if continues is not None:
        job.pre_tuned_model = aiplatform_v1.PreTunedModel(tuned_model_name=continues)
    job.tuned_model_display_name = display_name
    created = client.create_tuning_job(parent=parent, tuning_job=job)
    model: str = client.get_tuning_job(name=created.name).tuned_model.model
    client.transport.close()
    return model


def test_a_new_model_is_version_one_with_default(models: Any, emulator: EmulatorProcess,
                                                 parent: str) -> None:
    """A job from a base model registers a new Model at version 1, which carries default."""
    name = tuned(emulator, parent)
    model, _, version = name.partition("@")
    assert version == "1"
    got = models.get_model(name=model)
    assert (got.name, got.version_id, list(got.version_aliases)) == (model, "1", ["default"])
    assert got.display_name == "router"


def test_a_continuation_with_the_parents_name_is_the_next_version(
        models: Any, emulator: EmulatorProcess, parent: str) -> None:
    """Same display name: version N+1 of the parent's Model; another name: a new Model."""
    first = tuned(emulator, parent)
    second = tuned(emulator, parent, continues=first)
    other = tuned(emulator, parent, display_name="renamed", continues=first)
    model = first.partition("@")[0]
    assert second == f"{model}@2"
    assert other.partition("@")[0] != model and other.endswith("@1")
    listed = models.list_model_versions(name=model)
    assert [(m.name, m.version_id, list(m.version_aliases)) for m in listed] == [
        (f"{model}@1", "1", ["default"]), (f"{model}@2", "2", [])]


def test_an_alias_lives_on_one_version_and_moves(models: Any, emulator: EmulatorProcess,
                                                 parent: str) -> None:
    """Adding an alias takes it off the version that held it; `-alias` removes it."""
    first = tuned(emulator, parent)
    second = tuned(emulator, parent, continues=first)
    model = first.partition("@")[0]
    merged = models.merge_version_aliases(name=first, version_aliases=["ticket-router"])
    assert list(merged.version_aliases) == ["default", "ticket-router"]
    models.merge_version_aliases(name=second, version_aliases=["ticket-router"])
    assert models.get_model(name=f"{model}@ticket-router").version_id == "2"
    assert list(models.get_model(name=first).version_aliases) == ["default"]
    models.merge_version_aliases(name=second, version_aliases=["-ticket-router"])
    with pytest.raises(api.NotFound):
        models.get_model(name=f"{model}@ticket-router")


def test_default_moves_but_is_never_removed(models: Any, emulator: EmulatorProcess,
                                            parent: str) -> None:
    """Exactly one version carries default: it can be moved, not removed."""
    first = tuned(emulator, parent)
    second = tuned(emulator, parent, continues=first)
    model = first.partition("@")[0]
    with pytest.raises(api.BadRequest, match="default"):
        models.merge_version_aliases(name=first, version_aliases=["-default"])
    models.merge_version_aliases(name=second, version_aliases=["default"])
    assert models.get_model(name=model).version_id == "2"
    assert list(models.get_model(name=first).version_aliases) == []


@pytest.mark.parametrize("aliases", [["Bad"], ["a"], ["ends-"], ["1st"], []])
def test_malformed_aliases_are_invalid(models: Any, emulator: EmulatorProcess, parent: str,
                                       aliases: list[str]) -> None:
    """Aliases match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9]; an empty merge is refused (400)."""
    name = tuned(emulator, parent)
    with pytest.raises(api.BadRequest):
        models.merge_version_aliases(name=name, version_aliases=aliases)


def test_merge_needs_a_version_id_and_a_known_model(models: Any, emulator: EmulatorProcess,
                                                    parent: str) -> None:
    """MergeVersionAliases names a version explicitly; an unknown Model is NOT_FOUND."""
    name = tuned(emulator, parent)
    with pytest.raises(api.BadRequest):
        models.merge_version_aliases(name=name.partition("@")[0], version_aliases=["x-y"])
    with pytest.raises(api.NotFound):
        models.merge_version_aliases(name=f"{parent}/models/4242@1", version_aliases=["x-y"])
    with pytest.raises(api.NotFound):
        models.get_model(name=f"{parent}/models/4242")


def test_pre_tuned_model_accepts_an_alias(models: Any, emulator: EmulatorProcess,
                                          parent: str) -> None:
    """`…/models/ID@ALIAS` continues the version carrying it; an alias nobody carries is
    NOT_FOUND."""
    first = tuned(emulator, parent)
    model = first.partition("@")[0]
    models.merge_version_aliases(name=first, version_aliases=["stable"])
    assert tuned(emulator, parent, continues=f"{model}@stable") == f"{model}@2"
    with pytest.raises(api.NotFound):
        tuned(emulator, parent, continues=f"{model}@nobody")


def test_aliases_survive_a_restart(tmp_path: Any) -> None:
    """Versions are derived again from the jobs in end order; aliases come from their file."""
    from tuning_operator.emulator.registry import ModelRegistry, Registration

    job = "projects/p/locations/us-central1/tuningJobs/7"
    jobs = [Registration(job=job, ended_at=2.0, display_name="r", parent_model=None),
            Registration(job=f"{job}1", ended_at=3.0, display_name="r",
                         parent_model="projects/p/locations/us-central1/models/7@1")]
    registry = ModelRegistry(aliases_file=tmp_path / "state.json.models")
    registry.register(jobs)
    registry.merge("projects/p/locations/us-central1/models/7@2", ["stable"])
    again = ModelRegistry(aliases_file=tmp_path / "state.json.models")
    again.register(reversed(jobs))
    version = again.resolve("projects/p/locations/us-central1/models/7@stable")
    assert version is not None and version.job == f"{job}1"
