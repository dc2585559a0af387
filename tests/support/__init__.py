"""Test doubles and test tooling, shared by the unit tests, the e2e suite and the bench.

They live here, not in `tuning_operator`, because they serve only our own tests: the wheel
ships none of them, and an import-linter contract forbids the operator and the Pulumi program
to import this package. One module per double: `fake_vertex` (the reconciler's in-process
Vertex), `status_events` (a Pub/Sub-like recording sink and event streams), `pubsub_emulator`
(the official emulator as a context manager), `emulator_process` (our Vertex emulator as a
child process, and its admin client), `job_files`, `dataset_examples`, `report_state` (files as
the operator writes them), `pulumi_mocks` (the Pulumi program run offline under mocks).
The local Cloud Storage server is not here: the demo runs it, so it is
`tuning_operator.datasets.local_gcs`.
"""
