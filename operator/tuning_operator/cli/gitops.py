"""The pull-request half of GitOps: `validate`, `plan`, `schema`.

These run in CI on every pull request, so they must start fast and import no Google Cloud
library unless live Vertex state is asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tuning_operator.cli.options import add_decision_options
from tuning_operator.errors import OperatorError
from tuning_operator.planning.render_validation import errors_text, validation_document
from tuning_operator.specs import DirectoryLoad, SpecError, load_jobs_dir

if TYPE_CHECKING:  # `validate` imports neither the planner nor the dataset checks (issue 31)
    from tuning_operator.cli.dataset_checks import DatasetChecks
    from tuning_operator.planning.change import Change
    from tuning_operator.planning.cost import Estimate
    from tuning_operator.planning.model import ObservedJob

DEFAULT_JOBS_DIR = "jobs"
EXIT_REFUSED = 3  # `plan`: the change has a job the plan refuses (1: the plan could not run)


def register(sub: Any) -> None:
    validate = sub.add_parser("validate", help="check every job file (exit 1 on any error)")
    validate.add_argument("--jobs-dir", default=DEFAULT_JOBS_DIR)
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument("--check-datasets", action="store_true",
                          help="also run the dataset pre-flight on every job's data (reads GCS)")
    validate.set_defaults(handler=run_validate)

    planner = sub.add_parser(
        "plan", help="show what the operator would do",
        epilog="exit 0: planned; 1: the plan or its dataset check could not run (settings,"
        " credentials, an unreadable bucket or directory); 3: a job is refused (invalid file"
        " or data); 2 with --detailed-exitcode: a change is pending")
    planner.add_argument("--config", help="the operator's settings file (`run --config`): the"
                         " plan then decides by the same settings as the operator")
    planner.add_argument("--jobs-dir",
                         help=f"the directory of job files (default: {DEFAULT_JOBS_DIR})")
    planner.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    planner.add_argument("--detailed-exitcode", action="store_true",
                         help="exit 0: nothing to approve, 2: a create (also a waiting one), a"
                         " cancel or a replace is pending (1 and 3 as always)")
    planner.add_argument("--base", metavar="REV",
                         help="the git revision the change is against (e.g. origin/main): show"
                         " the files added, removed, changed and moved first, and judge each"
                         " removed file by its onDelete at REV")
    source = planner.add_mutually_exclusive_group()
    source.add_argument("--offline", action="store_true", help="assume no Vertex job exists")
    source.add_argument("--actual", metavar="FILE",
                        help="JSON list of Vertex jobs as List returns them (name, labels, state)")
    source.add_argument("--vertex-endpoint", metavar="HOST:PORT",
                        help="live: List an emulator (with --project, that project's jobs)")
    planner.add_argument("--project", help="live: List this project's jobs on real Vertex"
                         " (or on the emulator given by --vertex-endpoint)")
    planner.add_argument("--vertex-transport", choices=("grpc", "rest"))
    planner.add_argument("--state-dir", help="the operator's state directory: what it remembers"
                         " (removed files, first-seen order, intents, backoff, a recovery fence)"
                         " informs the plan, which is then what its next pass does")
    add_decision_options(planner)
    planner.add_argument("--check-datasets", action="store_true",
                         help="per job: dataset verdict, billable tokens, recommended vs chosen")
    planner.set_defaults(handler=run_plan)

    schema = sub.add_parser("schema", help="print the JSON Schema of a job file")
    schema.set_defaults(handler=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    load = load_jobs_dir(args.jobs_dir)
    datasets: dict[str, dict[str, object]] = {}
    if args.check_datasets:
        checked = check_datasets(load)
        dataset_errors = [
            SpecError(file=str(Path(load.root) / load.jobs[name].path), job=name,
                      message=f"dataset pre-flight: {reason}")
            for name, (reason, blocked, _) in checked.items() if blocked
        ]
        datasets = {name: {"blocked": blocked, "summary": summary}
                    for name, (_, blocked, summary) in checked.items()}
        bad = {e.job for e in dataset_errors}
        load = replace(load, jobs={n: j for n, j in load.jobs.items() if n not in bad},
                       errors=load.errors + tuple(dataset_errors),
                       invalid_names=load.invalid_names | {n for n in bad if n})
    if args.format == "json":
        document = validation_document(load)
        if args.check_datasets:
            document["datasets"] = datasets
        print(json.dumps(document, indent=2))
    else:
        sys.stderr.write(errors_text(load.errors))
        for skipped in load.skipped:
            print(f"note: {Path(load.root) / skipped}/ not read: directories whose names start"
                  " with '.' or '_' are skipped", file=sys.stderr)
        sys.stderr.write("".join(f"{w.file}: warning: {w.message}\n" for w in load.warnings))
        for name, entry in datasets.items():
            print(f"{name}: {entry['summary']}")
        print(f"{len(load.jobs)} valid job(s), {len(load.errors)} error(s),"
              f" {len(load.warnings)} warning(s) in {args.jobs_dir}")
    return 1 if load.errors or not load.readable else 0


def check_datasets(load: DirectoryLoad) -> dict[str, tuple[str, bool, str]]:
    """Per valid job: (reason, blocks a create, one-line summary) from the dataset pre-flight.

    `validate` asks whether every dataset is sound: one it could not read fails it too."""
    from tuning_operator.cli.dataset_checks import gather

    found = gather(load)
    unread = {name: (f"cannot read the dataset: {problem}",) * 2
              for name, problem in found.environment.items()}
    return {**found.results, **{n: (r, True, s) for n, (r, s) in unread.items()}}


def run_plan(args: argparse.Namespace) -> int:
    from tuning_operator.cli.dataset_checks import DatasetChecks, gather
    from tuning_operator.manager.settings import DEFAULTS, operator_settings, resolve_settings
    from tuning_operator.planning.planner import ActionKind, plan
    from tuning_operator.planning.render import plan_json, plan_markdown, plan_text
    from tuning_operator.reconciling.evalsets import EvaluationSetVersions, storage_generation
    from tuning_operator.reconciling.inputs import plan_inputs

    try:  # the state directory only when asked for: without it, a pull request's plan
        options = resolve_settings(args, defaults={**DEFAULTS, "state_dir": None})
    except (OSError, yaml.YAMLError) as exc:
        print(f"{args.config}: cannot read the settings ({exc})", file=sys.stderr)
        return 1
    live = not args.offline and args.actual is None and bool(
        options.vertex_endpoint or options.project)
    if not args.offline and args.actual is None and not live:
        print("plan needs the actual Vertex state: --offline (assume none), --actual FILE, or"
              " live with --project P / --vertex-endpoint HOST:PORT", file=sys.stderr)
        return 1
    load = load_jobs_dir(options.jobs_dir)
    try:
        change, removed = _against_base(args.base, options.jobs_dir, load)
    except OperatorError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    found = gather(load) if args.check_datasets else DatasetChecks()
    checked = found.results
    blocks = {n: reason for n, (reason, blocked, _) in checked.items() if blocked}
    notes = {n: summary for n, (_, _, summary) in checked.items()}
    unmanaged: dict[str, int] = {}
    records, memory = _memory(options.state_dir)
    if not options.state_dir:  # the operator's records of the removed files, as the base says
        records = removed
    try:
        if live:
            actual, unmanaged = read_live(options, load, records)
        else:
            actual = [] if args.offline else read_actual(Path(args.actual))
    except ValueError as exc:
        print(f"{args.actual}: {exc}", file=sys.stderr)
        return 1
    except OperatorError as exc:
        print(f"cannot read the actual state from Vertex: {exc}", file=sys.stderr)
        return 1
    # With the operator's settings, memory and clock, the plan is what its next pass does: a
    # live plan reads the gs:// evaluation sets' generations as the operator does.
    load = EvaluationSetVersions(storage_generation() if live else None).stamp(
        load, actual, records, now=time.time())
    settings = plan_inputs(load, records, memory, operator_settings(options), now=time.time(),
                           unmanaged=unmanaged, blocks=blocks, notes=notes,
                           checked=frozenset(checked) | frozenset(found.environment)
                           if args.check_datasets else None,
                           timed=bool(options.state_dir), estimates=_estimates(load, found),
                           removals_known=bool(options.state_dir or args.base))
    result = replace(plan(load, actual, settings), notes=found.notes())
    render = {"text": plan_text, "json": plan_json, "markdown": plan_markdown}[args.format]
    sys.stdout.write(render(result, change=change))
    # A job the plan refuses (a file error, failed data, a retired model, a checkpoint its
    # parent lacks) fails the check with its own code, though `validate` only warns of what
    # exists on Vertex; a check that could not run (no credentials, an unreadable bucket or
    # directory) is the runner's problem, not the change's: 1, as any plan that cannot run.
    if (load.errors or settings.dataset_blocks
            or any(a.kind == ActionKind.INVALID for a in result.actions)):
        return EXIT_REFUSED
    if found.environment or not load.readable:
        return 1
    if args.detailed_exitcode and result.pending:
        return 2
    return 0


def _estimates(load: DirectoryLoad, found: DatasetChecks) -> dict[str, Estimate]:
    """The checked jobs' estimates; without the check, every job's is unknown and says why."""
    from tuning_operator.planning.cost import unknown

    why = unknown("the datasets were not read; plan --check-datasets reads them")
    return {name: found.estimates.get(name, why) for name in load.jobs}


def run_schema(args: argparse.Namespace) -> int:
    from tuning_operator.specs.schema import jobs_file_schema

    del args
    print(json.dumps(jobs_file_schema(), indent=2))
    return 0


def _against_base(base: str | None, jobs_dir: str, load: DirectoryLoad
                  ) -> tuple[Change | None, dict[str, Any]]:
    """The change against `base`, and records of the files it removes (their last `onDelete`
    and team), which a plan without the operator's state judges the removals by."""
    if base is None:  # git (subprocess, tarfile) only for --base (issue 31, P7)
        return None, {}
    from tuning_operator.planning.change import ChangeKind, compare
    from tuning_operator.specs.revision import load_jobs_at
    from tuning_operator.state.store import JobRecord

    before = load_jobs_at(jobs_dir, base)
    change = compare(before, load, revision=base)
    removed = {f.job: JobRecord(name=f.job, first_seen=0.0, team=f.team, path=f.file,
                                on_delete=f.on_delete or "Orphan")
               for f in change.files if f.kind == ChangeKind.REMOVED}
    return change, removed


def _memory(state_dir: str | None) -> tuple[dict[str, Any], Any]:
    """The operator's records and memory, when a state directory is given (read once a plan)."""
    from tuning_operator.reconciling.inputs import remembered
    from tuning_operator.state.memory import OperatorMemory

    if not state_dir:  # no status store, no records (issue 31, P7)
        return {}, OperatorMemory()
    from tuning_operator.state.store import FileStatusStore

    store = FileStatusStore(state_dir)
    records = dict(store.fetch())
    return records, remembered(store, now=time.time())


def read_live(options: argparse.Namespace, load: DirectoryLoad,
              records: dict[str, Any]) -> tuple[list[ObservedJob], dict[str, int]]:
    """One List cycle per region from Vertex or an emulator, as the operator does it."""
    from tuning_operator.reconciling.observe import observe, regions_to_list
    from tuning_operator.specs.catalog import default_catalog
    from tuning_operator.vertex.budget import RequestBudget
    from tuning_operator.vertex.jobs import VertexTuningJobs

    budget = RequestBudget()
    if options.vertex_endpoint:
        vertex = VertexTuningJobs.for_emulator(options.vertex_endpoint, budget=budget,
                                               project=options.project or "local-project",
                                               transport=options.vertex_transport)
    else:
        vertex = VertexTuningJobs.for_vertex(project=options.project, budget=budget)
    with vertex:
        extra = [r for r in str(options.quota_regions or "").split(",") if r]
        extra += default_catalog().tuning_regions()  # a job moved between regions, as run
        observed = observe(vertex, regions_to_list(load, default_region=options.region,
                                                   records=records, extra=extra))
    return observed.jobs, dict(observed.unmanaged)


def read_actual(path: Path) -> list[ObservedJob]:
    """Vertex jobs from a JSON file: a list, or one complete List response, read strictly."""
    from tuning_operator.planning.actual import parse_actual

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read ({exc.strerror or exc})") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    return parse_actual(document)
