"""A suppression comment suppresses nothing.

## What it does
Reports `# celery-audit: ignore[...]`, `# celery-audit: ignore-file[...]` and
`# noqa: CA...` comments (or their `//`, `<!-- -->`, `{# #}` forms in other files)
that did not suppress any finding of a code they name, and `celery-audit: ignore`
comments that name no rule code at all. Only codes of rules that ran are checked: a
comment for a rule that is not selected, or ignored for the file, is left alone. A
bare `# noqa` belongs to other linters and is never reported.

## Why is this bad?
A stale suppression hides the next real problem on that line: after a refactor fixes
the original finding, a new bug of the same kind in the same place is silently
ignored. A suppression without a code suppresses nothing, although it looks like it
does.

## Example
```python
@celery.task  # celery-audit: ignore[CA201]
def export_report(report_id):
    with app.app_context():  # the context is pushed now: CA201 no longer fires
        Report.query.get(report_id).export()
```

Use instead:
```python
@celery.task
def export_report(report_id):
    with app.app_context():
        Report.query.get(report_id).export()
```

## Known problems
The finding is computed by the suppression step after all other rules ran, not by
`check()`; ignore it like any other code (`ignore = ["CA002"]`).
"""

from __future__ import annotations

from collections.abc import Iterator

from celery_audit.model.findings import Finding
from celery_audit.model.project import Project

NAME = "unused-suppression"
SEVERITY = "info"
AREA = "Files"
FIX = "Remove the suppression comment, or the codes in it that no longer match a finding."


def check(project: Project) -> Iterator[Finding]:
    """Nothing: which suppressions were used is only known after every other rule ran
    (see `celery_audit.suppress`)."""
    return iter(())
