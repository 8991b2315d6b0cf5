"""The `--fail-on` / `fail-on` levels, in a module of their own: the command line builds
its options from them before it imports anything heavier (see runs.py)."""

FAIL_ON = ("error", "warning", "info", "never")
