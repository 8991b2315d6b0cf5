"""A file could not be read or parsed, so its facts are missing.

## What it does
Reports every file celery-audit could not decode or parse: syntax errors, Python 2
code, undecodable bytes, unreadable files.

## Why is this bad?
Nothing in that file is analysed: its tasks, dispatches, routes and imports are absent,
so other rules may miss problems or report tasks as unknown.

## Example
```python
print "exporting"  # Python 2
```

Use instead:
```python
print("exporting")
```

## Known problems
Files are parsed with the grammar of the Python celery-audit runs on: code using
newer syntax (3.12's f-strings with nested quotes, read by 3.11) is reported as a
syntax error. Run celery-audit with the Python the project targets.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "parse-error"
SEVERITY = "warning"
AREA = "Files"
FIX = "Fix the file so that Python can parse it, or exclude it from the scan."


# Python's parser reads the grammar of the Python celery-audit runs on: code written for
# a newer one (3.12's nested f-string quotes on 3.11) is a syntax error here.
GRAMMAR = f"Python {sys.version_info.major}.{sys.version_info.minor}"


def check(project: Project) -> Iterator[Finding]:
    for problem in project.problems:
        message = problem.message
        if message.startswith("syntax error"):
            message += f" (read as {GRAMMAR})"
        yield finding(NAME, f"{message}; the facts of this file are missing",
                      problem.file, problem.span, key=problem.message)  # fmt: skip
