"""The Pulumi program that prepares a Google Cloud project for tuning-operator.

Pulumi runs this directory (`main: infra/` in Pulumi.yaml) with `runpy.run_path`, which executes
`__main__.py` as a script with `infra/` itself on `sys.path`. Left like that, `config.py` would be
importable as a top-level module named `config`, shadowing any library of that name. So
`__main__.py` swaps `infra/` for the repository root on `sys.path` and everything is imported as
the package `infra` (`infra.config`, `infra.components`). Tests do the same through
`tests/infra/conftest.py` and run the program with `tests.support.pulumi_mocks.run_program`.

This package never imports the operator (`tuning_operator`), and the operator never imports it:
the only contract between them is the stack outputs, above all `operatorRunCommand`.
"""
