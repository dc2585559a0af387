"""tuning-operator: GitOps for Vertex AI supervised tuning of Gemini models.

The public surface is small on purpose: the job model, the directory loader and the planner.
Everything that talks to Google Cloud lives in subpackages imported only by the commands that
need them, so `validate` and `plan --offline` start fast and work with no cloud library loaded.
"""

__version__ = "0.1.0"
