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
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules.base import finding

NAME = "parse-error"
SEVERITY = "warning"
AREA = "Files"
FIX = "Fix the file so that Python can parse it, or exclude it from the scan."


def check(project: Project) -> Iterator[Finding]:
    for problem in project.problems:
        yield finding(NAME, f"{problem.message}; the facts of this file are missing",
                      problem.file, problem.span, key=problem.message)  # fmt: skip
