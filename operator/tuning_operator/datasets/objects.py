"""Where dataset bytes come from: local files and `gs://` objects, read as a stream of lines.

Every read starts with a stat (size and generation) so the size limit is checked before a byte
of content is fetched, and so results can be cached per object version. A `gs://` object is read
in ranged requests pinned to the generation that was stat'ed: if the object is replaced while it
is read, the read fails instead of mixing two versions. Memory is bounded by one chunk.

google-cloud-storage is imported only when a `gs://` URI is read, so checking local files starts
fast. This module never parses JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tuning_operator.errors import ConfigError, PermanentError, TemporaryError

GCS_SCHEME = "gs://"
CHUNK_BYTES = 8 * 1024 * 1024


class DatasetNotFound(PermanentError):
    """The dataset URI names no object (or one we may not read): retrying will not help."""


@dataclass(frozen=True)
class DatasetObject:
    """One version of one dataset file.

    `generation` identifies the version: the object generation for `gs://`, the modification
    time (ns) and size for a local file. Two equal DatasetObjects have the same content.
    """

    uri: str
    size: int
    generation: str


def split_gcs_uri(uri: str) -> tuple[str, str]:
    """`gs://bucket/path/file.jsonl` -> (`bucket`, `path/file.jsonl`)."""
    bucket, _, name = uri.removeprefix(GCS_SCHEME).partition("/")
    if not uri.startswith(GCS_SCHEME) or not bucket or not name:
        raise DatasetNotFound(f"{uri}: not a gs://BUCKET/OBJECT URI")
    return bucket, name


def iter_chunk_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Split a stream of byte chunks into lines (without the newline); the last may be partial."""
    tail = b""
    for chunk in chunks:
        lines = (tail + chunk).split(b"\n") if tail else chunk.split(b"\n")
        tail = lines.pop()
        yield from lines
    if tail:
        yield tail


class DatasetObjects:
    """Stat and read dataset files by URI: local paths, or `gs://` through a storage client.

    `storage_client` is a `google.cloud.storage.Client`; without one, a client with the default
    credentials is created on the first `gs://` URI (it honours STORAGE_EMULATOR_HOST).
    """

    def __init__(self, storage_client: Any = None, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._client = storage_client
        self._chunk_bytes = chunk_bytes

    def stat(self, uri: str, *, deadline: float | None = None) -> DatasetObject:
        """Size and generation of the object; DatasetNotFound when there is none.

        `deadline`: one request of at most that many seconds, no retries (a reconcile pass
        asks so, and must not wait out the client's two-minute retry policy in an outage).
        """
        if uri.startswith(GCS_SCHEME):
            return self._stat_gcs(uri, deadline)
        try:
            info = os.stat(uri)
        except FileNotFoundError as exc:
            raise DatasetNotFound(f"{uri}: no such file") from exc
        except OSError as exc:
            raise DatasetNotFound(f"{uri}: cannot be read ({exc.strerror})") from exc
        if not os.path.isfile(uri):
            raise DatasetNotFound(f"{uri}: not a regular file")
        version = f"{info.st_mtime_ns}-{info.st_size}"
        return DatasetObject(uri=uri, size=info.st_size, generation=version)

    @contextmanager
    def open_lines(self, obj: DatasetObject) -> Iterator[Iterator[bytes]]:
        """The object's lines, streamed, inside a `with` that releases the file or connection.

        Local lines keep their newline (orjson reads it as whitespace) and come straight from
        Python's buffered file iterator: no per-line copy, no generator in between.
        """
        if obj.uri.startswith(GCS_SCHEME):
            yield iter_chunk_lines(self._gcs_chunks(obj))
            return
        try:
            handle = open(obj.uri, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise DatasetNotFound(f"{obj.uri}: cannot be read ({exc.strerror})") from exc
        with handle:
            yield handle

    def _storage(self) -> Any:
        if self._client is None:
            from google.auth.exceptions import DefaultCredentialsError  # only for gs:// URIs
            from google.cloud.storage import Client

            try:
                self._client = Client()
            except DefaultCredentialsError as exc:
                raise ConfigError(
                    "reading gs:// datasets needs Google credentials: run `gcloud auth"
                    " application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
                    f" ({exc})"
                ) from exc
        return self._client

    def _stat_gcs(self, uri: str, deadline: float | None) -> DatasetObject:
        from google.api_core import exceptions as gexc  # only for gs://

        bucket_name, name = split_gcs_uri(uri)
        quick = {} if deadline is None else {"timeout": deadline, "retry": None}
        try:
            blob = self._storage().bucket(bucket_name).get_blob(name, **quick)
        except (gexc.Forbidden, gexc.Unauthorized) as exc:
            raise DatasetNotFound(f"{uri}: permission denied ({exc.message})") from exc
        except gexc.NotFound as exc:
            raise DatasetNotFound(f"{uri}: not found ({exc.message})") from exc
        except (gexc.GoogleAPIError, OSError) as exc:
            raise TemporaryError(f"{uri}: stat failed: {exc}", retry_after=5.0) from exc
        if blob is None:
            raise DatasetNotFound(f"{uri}: no such object")
        return DatasetObject(uri=uri, size=int(blob.size or 0), generation=str(blob.generation))

    def _gcs_chunks(self, obj: DatasetObject) -> Iterator[bytes]:
        from google.api_core import exceptions as gexc  # only for gs://

        bucket_name, name = split_gcs_uri(obj.uri)
        blob = self._storage().bucket(bucket_name).blob(name)
        offset = 0
        while offset < obj.size:
            end = min(offset + self._chunk_bytes, obj.size) - 1
            try:
                chunk = blob.download_as_bytes(
                    start=offset,
                    end=end,
                    checksum=None,
                    if_generation_match=int(obj.generation),
                )
            except (gexc.PreconditionFailed, gexc.NotFound) as exc:
                # Generation pinned: a replaced object answers 412 (GCS) or 404 (emulators).
                raise TemporaryError(
                    f"{obj.uri}: replaced or deleted while being read (generation"
                    f" {obj.generation}); check it again",
                    retry_after=1.0,
                ) from exc
            except (gexc.GoogleAPIError, OSError) as exc:
                raise TemporaryError(f"{obj.uri}: read failed: {exc}", retry_after=5.0) from exc
            if not chunk:
                break
            offset += len(chunk)
            yield chunk
