#!/bin/sh
# Removes from the image's virtualenv (SITE_PACKAGES, the argument) what the operator never
# loads; run by the Containerfile right after pip. Every removal is a whole package or file kind
# that nothing the operator imports reaches: warm-bytecode.py then imports and exercises the
# operator's modules in the build, so an import that needed something removed fails the build.
#
#   deploy/container/slim-venv.sh /opt/tuning-operator/lib/python3.11/site-packages
set -eu
cd "${1:?usage: slim-venv.sh SITE_PACKAGES}"
# google-cloud-aiplatform: the operator and the emulator use its `aiplatform_v1` gapic clients
# only. The high-level SDK (aiplatform, vertexai, agentplatform, vertex_ray), the v1beta1 API
# and what only the SDK imports (google-genai, BigQuery, Resource Manager) are never imported.
rm -rf google/cloud/aiplatform_v1beta1 google/cloud/aiplatform vertexai agentplatform vertex_ray \
    google/genai google/cloud/bigquery google/cloud/bigquery_v2 google/cloud/resourcemanager \
    google/cloud/resourcemanager_v3
# The async REST transports of the gapic clients need aiohttp, which is not installed: they
# fail to import (inside a try, so the clients leave them out) whether present or not.
grep -rl --include=rest_asyncio.py '^ *import aiohttp' google | xargs -r rm -f
# Extensions nothing here loads: Pillow's AVIF codec (its plugin imports it inside a try; the
# charts are SVG) with its 5 MB library, lxml's objectify (sacrebleu uses lxml.etree).
rm -f PIL/_avif.*.so pillow.libs/libavif-*.so* lxml/objectify.*.so
# Test suites (numpy's, matplotlib's, nltk's doctests, ...), type stubs, Cython and C sources
# and headers, matplotlib's sample data and browser backend.
find . -type d \( -name tests -o -name test \) -prune -exec rm -rf {} +
find . -type f \( -name '*.pyi' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.h' -o -name '*.c' \
    -o -name '*.cpp' \) -delete
rm -rf numpy/_core/include numpy/_pyinstaller matplotlib/mpl-data/sample_data \
    matplotlib/backends/web_backend
# Bytecode: pip runs with --no-compile (compiling everything was a third of the virtualenv); any
# left is removed. The root is read-only at run time, so Python cannot write bytecode then:
# warm-bytecode.py writes it in the build for exactly the modules that run.
find . -type d -name __pycache__ -prune -exec rm -rf {} +
