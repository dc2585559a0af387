"""The alias objects in the artifacts bucket, over the wire against fake-gcs-server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tuning_operator.datasets.local_gcs import LocalGcsServer
from tuning_operator.errors import ArtifactsUnavailable
from tuning_operator.state.artifacts import open_artifacts
from tuning_operator.state.records import AliasRecord

pytestmark = pytest.mark.emulator  # fake-gcs-server

KEY = "support/ticket-router"


def record(job: str) -> AliasRecord:
    return AliasRecord(alias="ticket-router", team="support", job=job,
                       model_version="projects/p/locations/us-central1/models/1@2",
                       endpoint="projects/p/locations/us-central1/endpoints/9")


def test_an_alias_object_is_written_replaced_and_removed(
        fake_gcs: LocalGcsServer, gcs_bucket: Any, tmp_path: Path) -> None:
    """aliases/<team>/<alias>.json under the prefix: the record applications resolve."""
    shared = open_artifacts(f"gs://{gcs_bucket.name}/ops", state_dir=tmp_path,
                            storage_client=fake_gcs.client())
    assert shared is not None
    objects = shared.aliases()
    objects.publish(KEY, record("router-v2"))
    objects.publish(KEY, record("router-v3"))
    blob = gcs_bucket.blob("ops/aliases/support/ticket-router.json")
    document = orjson.loads(blob.download_as_bytes())
    assert (document["key"], document["job"], document["endpoint"]) == (
        KEY, "router-v3", "projects/p/locations/us-central1/endpoints/9")
    objects.remove(KEY)
    objects.remove(KEY)  # gone already: nothing to do
    assert not blob.exists()


def test_a_write_that_lost_a_race_is_unavailable(
        fake_gcs: LocalGcsServer, gcs_bucket: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """Another replica wrote between the read and the write: the precondition refuses it."""
    shared = open_artifacts(f"gs://{gcs_bucket.name}/ops", state_dir=tmp_path,
                            storage_client=fake_gcs.client())
    assert shared is not None
    objects = shared.aliases()
    objects.publish(KEY, record("router-v2"))
    real_blob = objects.bucket.blob

    def racing(name: str) -> Any:
        blob = real_blob(name)
        reload = blob.reload

        def reload_then_race(**kwargs: Any) -> None:
            reload(**kwargs)
            real_blob(name).upload_from_string(b"{}")  # the other replica's write
        blob.reload = reload_then_race
        return blob

    monkeypatch.setattr(objects.bucket, "blob", racing)
    with pytest.raises(ArtifactsUnavailable):
        objects.publish(KEY, record("router-v3"))
