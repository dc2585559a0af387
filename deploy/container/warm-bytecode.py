"""Imports and exercises the operator in the image build, with bytecode writing on.

slim-venv.sh removed every `__pycache__` and what the operator never loads; this run (1) fails
the build if any module of the operator, or any library it imports lazily (pre-flight, charts,
scores, Cloud Storage, Pub/Sub, the console), no longer imports or works, and (2) leaves `.pyc`
files for exactly the modules that ran, so the operator starts from bytecode on a read-only
root without carrying bytecode for the rest.

    /opt/tuning-operator/bin/python warm-bytecode.py
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import sys
import tempfile

sys.dont_write_bytecode = False
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp())

import tuning_operator  # noqa: E402

for found in pkgutil.walk_packages(tuning_operator.__path__, "tuning_operator."):
    importlib.import_module(found.name)

# The libraries the operator imports inside functions, used as it uses them.
from tuning_operator.datasets.duplicates import MinHasher, NearDuplicateIndex  # noqa: E402
from tuning_operator.judging.scoring import bleu, rouge_l  # noqa: E402
from tuning_operator.reporting.charts import Line, line_chart_svg  # noqa: E402

hasher = MinHasher()
index = NearDuplicateIndex()
index.insert(1, hasher.signature("the parcel was due on monday and never came"))
assert index.matches(hasher.signature("the parcel was due on monday and never came"))
assert bleu(["the parcel came on monday"], ["the parcel came on monday"]) > 0
assert rouge_l(["the parcel came on monday"], ["the parcel came on monday"]) > 0
curve = Line(label="loss", points=((1.0, 2.0), (2.0, 1.5), (3.0, 1.2)), colour="#1f77b4")
assert "<svg" in line_chart_svg(title="Loss", y_label="loss", lines=[curve])

import google.auth.compute_engine  # noqa: E402  (credentials on GKE)
import google.auth.transport.grpc  # noqa: E402
import google.auth.transport.requests  # noqa: E402
import google.cloud.pubsub_v1  # noqa: E402
import google.cloud.storage  # noqa: E402, F401
import rich.console  # noqa: E402
import rich.live  # noqa: E402
import rich.table  # noqa: E402

rich.console.Console(file=io.StringIO()).print(rich.table.Table("job", "state"))
print("warm-bytecode: the operator's modules and lazy imports load;", len(sys.modules), "modules")
