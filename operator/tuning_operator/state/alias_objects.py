"""One JSON object per ModelAlias in the artifacts bucket, for applications to resolve it.

`PREFIX/aliases/<team>/<alias>.json` holds the alias record (`state.records.alias_to_json`):
the job, the Model version, the checkpoint and the endpoint to call. Applications read it
instead of the operator's state directory; a replica that takes over finds it there too. Each
write is conditional on the generation read just before it (0: the object must not exist), so
two replicas never overwrite each other blindly: the loser hears ArtifactsUnavailable and the
next pass, which plans from its own record, writes again. Google Cloud is imported only here,
at call time.
"""

from __future__ import annotations

from typing import Any

import orjson

from tuning_operator.errors import ArtifactsUnavailable
from tuning_operator.state.records import AliasRecord, alias_to_json

FOLDER = "aliases"


class AliasObjects:
    """The alias objects under one bucket and prefix."""

    def __init__(self, *, bucket: Any, prefix: str) -> None:
        self.bucket = bucket  # a google.cloud.storage Bucket
        self.prefix = prefix

    def name_of(self, key: str) -> str:
        """`team/alias` → its object name."""
        return f"{self.prefix}/{FOLDER}/{key}.json" if self.prefix else f"{FOLDER}/{key}.json"

    def publish(self, key: str, record: AliasRecord) -> None:
        """Write the alias's object, on the generation it has now."""
        body = orjson.dumps({"key": key, **alias_to_json(record)}, option=orjson.OPT_INDENT_2)
        self._conditional(key, lambda blob, generation: blob.upload_from_string(
            body, content_type="application/json", if_generation_match=generation))

    def remove(self, key: str) -> None:
        """Delete the alias's object (gone already: nothing to do)."""
        self._conditional(key, lambda blob, generation: generation and blob.delete(
            if_generation_match=generation))

    def _conditional(self, key: str, write: Any) -> None:
        from google.api_core import exceptions

        name = self.name_of(key)
        blob = self.bucket.blob(name)
        try:
            try:
                blob.reload()
                generation = blob.generation
            except exceptions.NotFound:
                generation = 0
            write(blob, generation)
        except exceptions.NotFound:
            return  # deleted meanwhile
        except (exceptions.GoogleAPIError, OSError) as exc:  # PreconditionFailed included
            raise ArtifactsUnavailable(f"gs://{self.bucket.name}/{name}: {exc}") from exc
