"""The hostile-repository corpus (issue 12): whatever git can store never stops the operator.

Each entry is put into team `alpha` of a jobs directory whose team `beta` holds a valid job. Each
case asserts the message, that beta's job still loads, and that the entry holds removals: either
its job name is known and kept (`invalid_names`), or it counts in `unnamed_failures`, which holds
every removal. The per-case timeout turns a blocking read (a FIFO) into a failure, not a hang.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tuning_operator.planning.planner import ActionKind, PlanSettings, plan
from tuning_operator.planning.render import plan_markdown, validation_document
from tuning_operator.specs import load_jobs_dir
from tuning_operator.specs.loader import MAX_FILE_BYTES
from tuning_operator.specs.walk import shown

ROOT = os.geteuid() == 0


def job(name: str = "hostile", *, meta: str = "", spec: str = "",
        dataset: str = "gs://datasets/alpha/train.jsonl") -> str:
    """A job file; `meta` and `spec` lines go under metadata and spec."""
    return (f"apiVersion: tuning-operator/v1\nkind: TuningJob\nmetadata:\n  name: {name}\n{meta}"
            f"spec:\n  baseModel: gemini-2.5-flash\n  trainingDataset: {dataset}\n{spec}")


def continuing(pre_tuned: str, *, spec: str = "") -> str:
    """A job file that continues tuning (`preTunedModel`) instead of naming a base model."""
    return job(spec=spec).replace("  baseModel: gemini-2.5-flash\n",
                                  f"  preTunedModel: {pre_tuned}\n")


POLICY = ("apiVersion: tuning-operator/v1\nkind: Policy\nteams:\n"
          "  alpha: {{datasetPrefixes: [{prefix}]}}\n")


def _write(rel: str, content: str | bytes) -> Callable[[Path], None]:
    def put(jobs: Path) -> None:
        path = jobs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return put


def _all(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def put(jobs: Path) -> None:
        for setup in setups:
            setup(jobs)
    return put


def _non_utf8_name(jobs: Path) -> None:
    (jobs / "alpha").mkdir()
    os.close(os.open(os.fsencode(jobs / "alpha") + b"/\xff.yaml", os.O_CREAT | os.O_WRONLY))


def _linked_team(jobs: Path) -> None:
    """alpha's directory moved out of the jobs directory, a symlink left in its place."""
    moved = jobs.parent / "alpha-moved"
    _write("x.yaml", job(spec="  onDelete: Cancel\n"))(moved)
    os.symlink(moved, jobs / "alpha")


def _team_linked_to_team(jobs: Path) -> None:
    os.symlink("beta", jobs / "alpha")


def _loop_between_files(jobs: Path) -> None:
    (jobs / "alpha").mkdir()
    os.symlink("b.yaml", jobs / "alpha" / "a.yaml")
    os.symlink("a.yaml", jobs / "alpha" / "b.yaml")


def _link_to_outside_file(jobs: Path) -> None:
    _write("outside.yaml", job())(jobs.parent)
    (jobs / "alpha").mkdir()
    os.symlink(jobs.parent / "outside.yaml", jobs / "alpha" / "x.yaml")


def _link_to_inside_file(jobs: Path) -> None:
    _write("alpha/_draft.yaml", job())(jobs)
    os.symlink("_draft.yaml", jobs / "alpha" / "x.yaml")


def _dangling_file_link(jobs: Path) -> None:
    (jobs / "alpha").mkdir()
    os.symlink("gone.yaml", jobs / "alpha" / "x.yaml")


def _dangling_team_link(jobs: Path) -> None:
    os.symlink(jobs.parent / "gone", jobs / "alpha")


def _self_looping_team_link(jobs: Path) -> None:
    os.symlink("alpha", jobs / "alpha")


def _fifo(jobs: Path) -> None:
    (jobs / "alpha").mkdir()
    os.mkfifo(jobs / "alpha" / "x.yaml")


def _char_device(jobs: Path) -> None:
    (jobs / "alpha").mkdir()
    os.mknod(jobs / "alpha" / "x.yaml", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero


def _socket(jobs: Path) -> None:
    (jobs / "alpha").mkdir()
    here = os.getcwd()
    os.chdir(jobs / "alpha")  # a socket path is limited to ~107 bytes: bind a relative one
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind("x.yaml")
        server.close()
    finally:
        os.chdir(here)


@dataclass(frozen=True)
class Case:
    """A hostile entry, the file the error names, a part of its message, and what it holds."""

    id: str
    setup: Callable[[Path], None]
    file: str  # relative to the jobs directory, as the error shows it
    message: str
    # The job name kept in invalid_names; None: an unnamed failure (a name with a control
    # character or too long for a label names no Vertex job and is never passed on).
    holds: str | None = None
    root_only: bool = False


CASES = [
    # The walk.
    Case("symlinked-team-dir", _linked_team, "alpha", "is a symlink to a directory"),
    Case("team-dir-linked-to-another-team", _team_linked_to_team, "alpha",
         "is a symlink to a directory (beta)"),
    Case("symlink-loop-between-job-files", _loop_between_files, "alpha/a.yaml",
         "is a symlink; links below the jobs directory are not followed"),
    Case("symlink-to-file-outside", _link_to_outside_file, "alpha/x.yaml", "is a symlink"),
    Case("symlink-to-skipped-file-inside", _link_to_inside_file, "alpha/x.yaml",
         "is a symlink"),
    Case("dangling-file-symlink", _dangling_file_link, "alpha/x.yaml", "is a symlink"),
    Case("dangling-symlink-where-a-team-was", _dangling_team_link, "alpha",
         "is a symlink that cannot be followed (No such file or directory)"),
    Case("self-looping-team-symlink", _self_looping_team_link, "alpha",
         "cannot be followed (Too many levels of symbolic links)"),
    Case("fifo", _fifo, "alpha/x.yaml", "not a regular file: a FIFO (named pipe)"),
    Case("char-device", _char_device, "alpha/x.yaml", "not a regular file: a character device",
         root_only=True),
    Case("socket", _socket, "alpha/x.yaml", "not a regular file: a socket"),
    Case("control-char-file-name", _write("alpha/x\x1b[2J.yaml", job()), "alpha/x\\x1b[2J.yaml",
         "the name contains control or invisible characters"),
    Case("bidi-override-dir-name", _write("alpha\u202e/x.yaml", job()), "alpha\\u202e",
         "control or invisible characters"),
    Case("non-utf8-file-name", _non_utf8_name, "alpha/\\udcff.yaml",
         "control or invisible characters"),
    # Teams are label values, matched whole.
    Case("trailing-newline-team-dir", _write("alpha\n/x.yaml", job()), "alpha\\n",
         "control or invisible characters"),
    Case("uppercase-team-dir", _write("Alpha/x.yaml", job()), "Alpha/x.yaml",
         "'Alpha' is not a valid Vertex label value, so it cannot name a team", holds="hostile"),
    Case("space-in-team-dir", _write("al pha/x.yaml", job()), "al pha/x.yaml",
         "use 'al-pha'", holds="hostile"),
    Case("unicode-team-dir", _write("équipe/x.yaml", job()), "équipe/x.yaml",
         "cannot name a team", holds="hostile"),
    Case("team-dir-too-long", _write("a" * 64 + "/x.yaml", job()), "a" * 64 + "/x.yaml",
         "at most 63 characters", holds="hostile"),
    Case("broken-file-in-bad-team-dir", _write("Alpha/x.yaml", job(spec="  epochs: 3\n")),
         "Alpha/x.yaml", "is not a team", holds="hostile"),
    # Names and labels, matched whole.
    Case("name-trailing-newline", _write("alpha/x.yaml", job('"hostile\\n"')), "alpha/x.yaml",
         "`metadata.name`: 'hostile\\n' is not valid"),
    Case("name-block-scalar-newline", _write("alpha/x.yaml", job("|\n    hostile")),
         "alpha/x.yaml", "'hostile\\n' is not valid"),
    Case("name-html-comment", _write("alpha/x.yaml", job('"<!--"')), "alpha/x.yaml",
         "'<!--' is not valid; use a DNS label", holds="<!--"),
    Case("name-very-long", _write("alpha/x.yaml", job("a" * 5000)), "alpha/x.yaml",
         "use a DNS label"),
    Case("label-key-managed-by-newline",
         _write("alpha/x.yaml", job(meta='  labels: {"managed-by\\n": me}\n')), "alpha/x.yaml",
         "label key 'managed-by\\n' breaks Vertex label rules", holds="hostile"),
    Case("label-value-trailing-newline",
         _write("alpha/x.yaml", job(meta='  labels: {team: "x\\n"}\n')), "alpha/x.yaml",
         "label value 'x\\n' (key 'team') breaks Vertex label rules", holds="hostile"),
    Case("region-trailing-newline",
         _write("alpha/x.yaml", job(spec='  region: "us-central1\\n"\n')), "alpha/x.yaml",
         "use a Vertex region", holds="hostile"),
    Case("display-name-escape", _write("alpha/x.yaml",
                                       job(spec='  tunedModelDisplayName: "a\\e[2Jb"\n')),
         "alpha/x.yaml", "no control characters", holds="hostile"),
    Case("description-escape", _write("alpha/x.yaml", job(spec='  description: "a\\e]0;x"\n')),
         "alpha/x.yaml", "no control characters other than newlines", holds="hostile"),
    Case("nul-byte", _write("alpha/x.yaml", job("a\x00b").encode()), "alpha/x.yaml",
         "a control character (#x0000) that YAML does not allow"),
    Case("file-growing-past-limit-is-bounded",
         _write("alpha/x.yaml", job() + "#" + "x" * MAX_FILE_BYTES), "alpha/x.yaml",
         "a job file may be at most"),
    # Dataset URIs, compared by segment.
    Case("dataset-dot-dot", _write("alpha/x.yaml", job(dataset="gs://datasets/alpha/../beta/t.jsonl")),
         "alpha/x.yaml", "has a '..' path segment", holds="hostile"),
    Case("dataset-percent-dot-dot",
         _write("alpha/x.yaml", job(dataset="gs://datasets/alpha/%2E%2E/beta/t.jsonl")),
         "alpha/x.yaml",
         "a percent-encoded path segment ('%2E%2E')", holds="hostile"),
    Case("dataset-percent-slash",
         _write("alpha/x.yaml", job(dataset="gs://datasets/alpha%2F..%2Fbeta/t.jsonl")),
         "alpha/x.yaml",
         "percent-encoded", holds="hostile"),
    Case("dataset-empty-segment",
         _write("alpha/x.yaml", job(dataset="gs://datasets/alpha//t.jsonl")),
         "alpha/x.yaml", "an empty path segment", holds="hostile"),
    Case("dataset-dot-segment", _write("alpha/x.yaml", job(dataset="gs://datasets/./alpha/t.jsonl")),
         "alpha/x.yaml", "a '.' path segment", holds="hostile"),
    Case("dataset-prefix-without-slash",
         _all(_write("_policy.yaml", POLICY.format(prefix="gs://acme/knowledge")),
              _write("alpha/x.yaml", job(dataset="gs://acme/knowledge-restricted/x.jsonl"))),
         "alpha/x.yaml", "is outside the prefixes team 'alpha' may use", holds="hostile"),
    Case("dataset-prefix-dot-dot-escape",
         _all(_write("_policy.yaml", POLICY.format(prefix="gs://acme/ok/")),
              _write("alpha/x.yaml", job(dataset="gs://acme/ok/../secret/x.jsonl"))),
         "alpha/x.yaml", "has a '..' path segment", holds="hostile"),
    # Continuous tuning: chains answer to their root, their team and their region.
    Case("chain-continues-itself", _write("alpha/x.yaml", continuing("{job: hostile}")),
         "alpha/x.yaml", "dependency cycle", holds="hostile"),
    Case("chain-cycle-of-two",
         _all(_write("alpha/x.yaml", continuing("{job: other}")),
              _write("alpha/y.yaml", continuing("{job: hostile}").replace(
                  "name: hostile", "name: other"))),
         "alpha/x.yaml", "dependency cycle", holds="hostile"),
    Case("chain-continues-another-teams-job",
         _write("alpha/x.yaml", continuing("{job: good-job, checkpoint: '2'}")),
         "alpha/x.yaml", "is a job of team 'beta'", holds="hostile"),
    Case("chain-model-in-another-region",
         _write("alpha/x.yaml", continuing(
             "{tunedModel: 'projects/p/locations/europe-west4/models/1'}",
             spec="  region: us-central1\n")),
         "alpha/x.yaml", "set `spec.region: europe-west4`", holds="hostile"),
    Case("chain-checkpoint-with-tuned-model",
         _write("alpha/x.yaml", continuing(
             "{tunedModel: 'projects/p/locations/us-central1/models/1', checkpoint: best}")),
         "alpha/x.yaml", "`checkpoint` goes with `job`", holds="hostile"),
]


def _params() -> list[object]:
    marks = pytest.mark.skipif(not ROOT, reason="mknod of a character device needs root")
    return [pytest.param(c, id=c.id, marks=[marks] if c.root_only else []) for c in CASES]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", _params())
def test_hostile_entry_is_an_error_that_holds_and_hides_no_other_team(
    tmp_path: Path, case: Case
) -> None:
    """The entry is reported with its fix, beta's job loads, and the entry holds removals."""
    jobs = tmp_path / "jobs"
    _write("beta/ok.yaml", job("good-job", dataset="gs://datasets/beta/train.jsonl"))(jobs)
    case.setup(jobs)

    load = load_jobs_dir(jobs)

    assert list(load.jobs) == ["good-job"], load.errors
    mine = [e for e in load.errors if e.file == str(jobs / case.file)]
    assert any(case.message in e.message for e in mine), [str(e) for e in load.errors]
    if case.holds is None:
        assert load.unnamed_failures >= 1
    else:
        assert case.holds in load.invalid_names
    printed = [e.file for e in load.errors] + [e.job for e in load.errors if e.job]
    assert all(shown(text) == text for text in [*printed, *load.invalid_names]), printed


def test_corpus_covers_every_class_of_the_issue() -> None:
    """At least 30 hostile cases, across the walk, teams, names, labels and datasets."""
    assert len(CASES) >= 30


@pytest.mark.timeout(10)
def test_directory_named_like_a_job_file_is_walked_as_a_directory(tmp_path: Path) -> None:
    """A directory `x.yaml` is a directory: never opened as a file, its job files load."""
    _write("alpha/x.yaml/inner.yaml", job("inner-job"))(tmp_path)
    (tmp_path / "alpha" / "empty.yaml").mkdir()

    load = load_jobs_dir(tmp_path)

    assert list(load.jobs) == ["inner-job"]
    assert load.jobs["inner-job"].team == "alpha"
    assert load.errors == ()


def test_hard_link_is_a_regular_file(tmp_path: Path) -> None:
    """A hard link is an ordinary file (git stores it as one): it loads like any other."""
    _write("outside.yaml", job("linked-job"))(tmp_path)
    jobs = tmp_path / "jobs"
    (jobs / "alpha").mkdir(parents=True)
    os.link(tmp_path / "outside.yaml", jobs / "alpha" / "x.yaml")

    assert list(load_jobs_dir(jobs).jobs) == ["linked-job"]


def test_jobs_directory_itself_may_be_a_symlink(tmp_path: Path) -> None:
    """The root is followed (a git-sync checkout is a link); only links below it are not."""
    _write("checkout/alpha/x.yaml", job("rooted"))(tmp_path)
    os.symlink(tmp_path / "checkout", tmp_path / "jobs")

    load = load_jobs_dir(tmp_path / "jobs")

    assert list(load.jobs) == ["rooted"] and load.errors == ()


def test_skipped_directories_are_listed_not_hidden(tmp_path: Path) -> None:
    """Directories named `_…` or `.…` (also links) are not read, and the load lists them."""
    _write("alpha/x.yaml", job("shown"))(tmp_path)
    for skipped in ("_drafts/alpha", ".github", "alpha/_old"):
        _write(f"{skipped}/y.yaml", job("hidden"))(tmp_path)
    os.symlink(tmp_path / "alpha", tmp_path / "_alias")

    load = load_jobs_dir(tmp_path)

    assert list(load.jobs) == ["shown"] and load.errors == ()
    assert load.skipped == (".github", "_alias", "_drafts", "alpha/_old")
    assert validation_document(load)["skipped"] == list(load.skipped)


POLICY_CASES = [
    ("mis-cased-key", "teams:\n  Assistants: {baseModels: [gemini-2.5-flash]}\n",
     "'Assistants' is not a valid Vertex label value, so it cannot name a team", "'assistants'"),
    ("trailing-newline-key", 'teams:\n  "support\\n": {baseModels: [gemini-2.5-flash]}\n',
     "'support\\n' is not a valid Vertex label value", "'support'"),
    ("prefix-dot-dot", "teams:\n  alpha: {datasetPrefixes: ['gs://acme/a/../b/']}\n",
     "has a '..' path segment", "`teams.alpha.datasetPrefixes.0`"),
    ("prefix-percent", "teams:\n  alpha: {datasetPrefixes: ['gs://acme/%2e%2e/']}\n",
     "percent-encoded", "datasetPrefixes"),
    ("prefix-not-gs", "teams:\n  alpha: {datasetPrefixes: ['s3://acme/']}\n",
     "is not a gs:// URI", "datasetPrefixes"),
]


@pytest.mark.parametrize(("body", "message", "hint"), [c[1:] for c in POLICY_CASES],
                         ids=[c[0] for c in POLICY_CASES])
def test_bad_policy_entry_breaks_the_policy_with_its_fix(
    tmp_path: Path, body: str, message: str, hint: str
) -> None:
    """A policy entry that could apply to nobody (or be walked around) breaks the policy."""
    _write("alpha/x.yaml", job("kept"))(tmp_path)
    _write("_policy.yaml", "apiVersion: tuning-operator/v1\nkind: Policy\n" + body)(tmp_path)

    load = load_jobs_dir(tmp_path)

    assert load.policy_broken and load.policy is None
    policy_errors = [e.message for e in load.errors if e.file == str(tmp_path / "_policy.yaml")]
    assert any(message in m and hint in m for m in policy_errors), policy_errors


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_policy_file_that_is_not_a_regular_file_breaks_the_policy(
    tmp_path: Path, kind: str
) -> None:
    """A FIFO or a link as `_policy.yaml` is not read (never blocks) and holds creates."""
    _write("alpha/x.yaml", job("kept"))(tmp_path)
    if kind == "fifo":
        os.mkfifo(tmp_path / "_policy.yaml")
    else:
        _write("elsewhere.yaml", "apiVersion: tuning-operator/v1\nkind: Policy\n")(tmp_path.parent)
        os.symlink(tmp_path.parent / "elsewhere.yaml", tmp_path / "_policy.yaml")

    load = load_jobs_dir(tmp_path)

    assert load.policy_broken
    assert "cannot read the policy file" in load.errors[0].message


@pytest.mark.parametrize("prefix", ["gs://acme/knowledge", "gs://acme/knowledge/", "gs://acme"])
def test_dataset_prefix_admits_whole_segments_with_or_without_slash(
    tmp_path: Path, prefix: str
) -> None:
    """A dataset under the prefix loads, whether or not the policy's prefix ends with '/'."""
    _write("_policy.yaml", POLICY.format(prefix=prefix))(tmp_path)
    _write("alpha/x.yaml", job("inside", dataset="gs://acme/knowledge/x.jsonl"))(tmp_path)

    load = load_jobs_dir(tmp_path)

    assert list(load.jobs) == ["inside"], load.errors


def test_plan_markdown_escapes_what_a_file_author_wrote(tmp_path: Path) -> None:
    """HTML comments, tags, pipes, backticks, newlines and mentions in a file stay inert text."""
    _write("alpha/a.yaml", job('"<!-- x | `y` -->"'))(tmp_path)
    _write("alpha/b.yaml", job('"<img src=x onerror=alert(1)>"'))(tmp_path)
    _write("alpha/c.yaml", job('"line\\n| injected | row |\\n@acme/admins [x](http://e)"'))(
        tmp_path)
    _write("beta/ok.yaml", job("good-job"))(tmp_path)

    markdown = plan_markdown(plan(load_jobs_dir(tmp_path), [], PlanSettings()))

    assert "<" not in markdown and "`" not in markdown.replace("\\`", "")
    assert "@acme" not in markdown and "](" not in markdown.replace("\\](", "")
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 4  # the header and one row per file
    assert all(line.replace("\\|", "").count("|") == 7 for line in rows), rows


def test_validate_fails_naming_a_linked_team_and_lists_skipped_dirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` exits 1 naming the symlinked team directory and notes the skipped one."""
    from tuning_operator.cli import main

    jobs = tmp_path / "jobs"
    _write("beta/ok.yaml", job("good-job"))(jobs)
    _write("_drafts/x.yaml", job("draft"))(jobs)
    _linked_team(jobs)

    assert main(["validate", "--jobs-dir", str(jobs)]) == 1
    out, err = capsys.readouterr()
    assert f"{jobs / 'alpha'}: is a symlink to a directory" in err
    assert f"note: {jobs / '_drafts'}/ not read" in err
    assert "1 valid job(s), 1 error(s)" in out


def test_directory_swapped_for_a_link_after_the_walk_is_not_read_through(tmp_path: Path) -> None:
    """The reader opens each directory without following links: a swap after the walk fails."""
    from tuning_operator.specs.walk import read_regular

    _write("elsewhere/x.yaml", job("outside"))(tmp_path)
    (tmp_path / "jobs").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "jobs" / "alpha")

    with pytest.raises(OSError):
        read_regular(str(tmp_path / "jobs"), "alpha/x.yaml", limit=MAX_FILE_BYTES)
    _, raw = read_regular(str(tmp_path), "elsewhere/x.yaml", limit=MAX_FILE_BYTES)
    assert b"name: outside" in raw


@pytest.mark.parametrize(("entry", "message"), [
    (continuing("{job: nowhere}"), "no job named 'nowhere'"),
    (job(spec="").replace("gemini-2.5-flash", "gemini-1.5-flash-002"), "is retired"),
], ids=["chain-missing-parent", "chain-retired-root"])
def test_a_chain_that_cannot_be_created_is_a_warning_and_never_created(
        tmp_path: Path, entry: str, message: str) -> None:
    """A missing parent or a retired model: `validate` warns (an existing Vertex job of it is
    kept), and the plan refuses the create with the reason; beta's job is created."""
    jobs = tmp_path / "jobs"
    _write("beta/ok.yaml", job("good-job", dataset="gs://datasets/beta/train.jsonl"))(jobs)
    _write("alpha/x.yaml", entry)(jobs)
    load = load_jobs_dir(jobs)
    assert load.errors == () and any(message in w.message for w in load.warnings)
    actions = {a.job: a for a in plan(load, [], PlanSettings()).actions}
    assert actions["hostile"].kind == ActionKind.INVALID and message in actions["hostile"].reason
    assert actions["good-job"].kind == ActionKind.CREATE
