"""Resource options for the children of a component.

Pulumi does not hand a component's `depends_on` down to the resources created inside it, so a
component told to wait for the enabled APIs must pass that wait on to each child itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


def child_options(
    parent: pulumi.ComponentResource,
    opts: pulumi.ResourceOptions | None,
    *,
    depends_on: Sequence[pulumi.Resource] = (),
) -> pulumi.ResourceOptions:
    """Options for a child of `parent`: parented to it, waiting on what it waits on and more."""
    inherited = opts.depends_on if opts is not None else None
    if inherited is None:
        waits: list[pulumi.Resource] = []
    elif isinstance(inherited, pulumi.Resource):
        waits = [inherited]
    else:
        waits = list(inherited)  # type: ignore[arg-type]
    return pulumi.ResourceOptions(parent=parent, depends_on=[*waits, *depends_on])
