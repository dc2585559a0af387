"""Run the Pulumi program offline under `pulumi.runtime.set_mocks` and record what it declares.

No Pulumi CLI or cloud is needed: each call runs `infra/` exactly as Pulumi does (`runpy` on the
directory, `__main__` and all) in a brand-new `contextvars.Context` and event loop, so no stack,
config or registration leaks from one run into the next. The mocks answer like the provider only
for the few computed values the program reads back (service account and service agent emails).
The program never imports this module (it lives with the tests); the infra tests do.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func

PROGRAM_DIR = Path(__file__).resolve().parents[2] / "infra"
PROJECT_NAME = "tuning-operator"
MOCK_PROJECT_NUMBER = "123456789012"


@dataclass(frozen=True)
class Declared:
    """One resource the program registered: type token, logical name, URNs and final state."""

    type: str
    name: str
    urn: str
    parent_urn: str
    custom: bool
    dependencies: tuple[str, ...]
    state: Mapping[str, Any]
    protect: bool = False  # the `protect` resource option: Pulumi refuses to delete it

    @property
    def grant_target(self) -> str:
        """For an IAM member grant, what it is on: a bucket, topic, account, table or project."""
        for key in (
            "bucket",
            "topic",
            "subscription",
            "serviceAccountId",
            "tableId",
            "cryptoKeyId",
        ):
            if key in self.state:
                return str(self.state[key])
        return f"projects/{self.state['project']}"


@dataclass(frozen=True)
class ProgramRun:
    """Everything one run of the program declared, and its resolved stack outputs."""

    resources: tuple[Declared, ...]
    outputs: Mapping[str, Any]

    def of_type(self, type_token: str) -> list[Declared]:
        """The resources of one type, e.g. `gcp:storage/bucket:Bucket`."""
        return [resource for resource in self.resources if resource.type == type_token]

    def grants(self) -> list[Declared]:
        """Every IAM member grant (any resource with a role and a member)."""
        return [r for r in self.resources if "role" in r.state and "member" in r.state]

    def grants_to(self, member: str) -> set[tuple[str, str]]:
        """(role, what it is on) for each grant to one member."""
        return {
            (g.state["role"], g.grant_target) for g in self.grants() if g.state["member"] == member
        }

    def named(self, name: str) -> Declared:
        """The one resource with this logical name."""
        (found,) = (resource for resource in self.resources if resource.name == name)
        return found


class CloudLikeMocks(Mocks):
    """Echo inputs as outputs, plus what the provider would compute and the program reads."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "gcp:serviceaccount/account:Account":
            email = f"{args.inputs['accountId']}@{args.inputs['project']}.iam.gserviceaccount.com"
            state.update(
                email=email,
                member=f"serviceAccount:{email}",
                name=f"projects/{args.inputs['project']}/serviceAccounts/{email}",
            )
        elif args.typ == "gcp:projects/serviceIdentity:ServiceIdentity":
            agent = args.inputs["service"].split(".")[0]
            email = f"service-{MOCK_PROJECT_NUMBER}@gcp-sa-{agent}.iam.gserviceaccount.com"
            state.update(email=email, member=f"serviceAccount:{email}")
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = f"service-{MOCK_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
            return {"emailAddress": email, "member": f"serviceAccount:{email}"}, []
        return {}, []


class _RecordingMonitor(MockMonitor):
    """The mock resource monitor, also remembering each registration's URN and parent."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.declared: list[Declared] = []

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.declared.append(
                Declared(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent_urn=request.parent,
                    custom=request.custom,
                    dependencies=tuple(request.dependencies),
                    state=self.resources[response.urn].state,
                    protect=bool(request.protect),
                )
            )
        return response


def run_program(
    config: Mapping[str, Any], *, stack: str = "test", program: str = str(PROGRAM_DIR)
) -> ProgramRun:
    """Run `infra/` with this stack config (keys like `tuning-operator:region`), from scratch.

    `program` is the path handed to `runpy.run_path`, as Pulumi's Python host hands it (`.` with
    `infra/` as the working directory). Values that are not strings are passed as JSON, as Pulumi
    passes structured stack values. Whatever the program raises (a StackConfigError, say)
    propagates to the caller.
    """
    as_pulumi_passes_them = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()
    }
    return contextvars.Context().run(_run_fresh, as_pulumi_passes_them, stack, program)


def stack_file_config(path: Path) -> dict[str, Any]:
    """The `config:` map of a Pulumi.<stack>.yaml file, as `run_program` takes it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config: dict[str, Any] = document.get("config") or {}
    return config


def _run_fresh(config: dict[str, str], stack: str, program: str) -> ProgramRun:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_all_config(config, [])
        mocks = CloudLikeMocks()
        monitor = _RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(
            mocks, project=PROJECT_NAME, stack=stack, preview=False, monitor=monitor
        )
        outputs = loop.run_until_complete(_execute(program))
        return ProgramRun(resources=tuple(monitor.declared), outputs=outputs)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def _execute(program: str) -> dict[str, Any]:
    def run_as_pulumi_does() -> None:
        runpy.run_path(program, run_name="__main__")

    await run_pulumi_func(run_as_pulumi_does)
    root = settings.get_root_resource()
    exported: dict[str, Any] = getattr(root, "outputs", {})
    return {
        name: await pulumi.Output.from_input(value).future() for name, value in exported.items()
    }
