# Two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint pytest setup system-deps image checkov clean

$(STAMP): requirements.txt requirements-runtime.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/tuning-operator validate --jobs-dir examples/jobs
	$(BIN)/tuning-operator plan --offline --jobs-dir examples/jobs --max-concurrent-jobs 2
	$(BIN)/tuning-operator demo --jobs-dir examples/jobs

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy
	$(BIN)/lint-imports

# Debian packages listed in system-packages.txt, installed only where missing (needs root).
system-deps:
	@missing=$$(grep -v '^#' system-packages.txt | xargs -r -n1 sh -c 'dpkg -s "$$0" >/dev/null 2>&1 || echo "$$0"'); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The container image localhost/tuning-operator:dev (podman, or docker where that is what exists),
# from a wheelhouse of requirements-runtime.txt; see deploy/container/build.sh.
image: $(STAMP)
	PYTHON=$(BIN)/python deploy/container/build.sh

# checkov (tests/deploy) in its own virtualenv: its pins clash with requirements.txt's.
CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

# Lint runs alongside the tests (it needs one core for under a minute; the tests mostly wait).
test: $(STAMP) system-deps checkov
	$(MAKE) --no-print-directory -j2 lint pytest

# Four workers on two cores: most e2e tests wait on processes, not the CPU. tests/conftest.py
# keeps the image tests on one worker (one build) and starts the longest tests first.
pytest: $(STAMP)
	$(BIN)/pytest -n 4

clean:
	rm -rf $(VENV) .venv-checkov .cache .tuning-operator .pytest_cache .mypy_cache .ruff_cache
