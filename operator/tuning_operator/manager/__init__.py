"""The manager: the operator's settings, its one composition root, the in-process runner,
the live table and the demo.

Everything `run` and `demo` build is built here once, from settings read in one place, and then
started; the command line (cli/) only parses arguments and calls in. Nothing here is imported
by the layers below, and this package imports the command line never.
"""
