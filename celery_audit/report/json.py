"""The JSON report: SPEC section 5's schema, exactly (schema 1)."""

from __future__ import annotations

import json
from typing import Any

from celery_audit import __version__
from celery_audit.audit import Report
from celery_audit.model.findings import Severity


def as_dict(report: Report) -> dict[str, Any]:
    project = report.project
    counts = {s.value: 0 for s in Severity}
    for item in report.findings:
        counts[item.severity.value] += 1
    roles = {m.name: m for m in project.modules}
    return {
        "schema": 1,
        "tool": "celery-audit",
        "version": __version__,
        "root": project.root,
        "summary": {
            "files": project.files,
            "python_files": project.python_files,
            "parse_errors": len(project.problems),
            "findings": counts,
        },
        "graph": {
            "nodes": [
                *(
                    {"id": m.name, "file": m.file, "role": m.role}
                    for m in sorted(roles.values(), key=lambda m: m.name)
                ),
                *(
                    {"id": f"frontend:{file}", "file": file, "role": "frontend"}
                    for file in sorted({c.file for c in project.frontend_calls})
                ),
            ],
            "edges": [
                {"source": e.source, "target": e.target, "kind": e.kind} for e in project.edges
            ],
        },
        "facts": {
            "celery_apps": [
                {"file": a.file, "line": a.span.line, "var": a.qualname, "how": a.how}
                for a in project.celery_apps
            ],
            "tasks": [
                {
                    "file": t.file,
                    "line": t.def_span.line,
                    "func": t.func,
                    "name": name,
                    "decorator": t.decorator,
                    "app": t.app,
                    "bind": t.bind,
                    "queue": t.queue,
                    "needs_app_context": bool(t.needs_app_context),
                    "needs_request_context": bool(t.needs_request_context),
                    "context_provided_by": [e.what for e in t.context_provided_by],
                }
                for t in project.tasks
                for name in t.names
            ],
            "call_sites": [
                {
                    "file": c.file,
                    "line": c.span.line,
                    "kind": c.kind,
                    # the name sent: by-name forms name one of the task's names
                    "task": c.task_name
                    or c.sent_name
                    or (task.name if (task := project.task(c.task or "")) else c.target),
                    "resolved": c.task is not None,
                }
                for c in project.call_sites
            ],
            "status_endpoints": [
                {"file": s.file, "line": s.span.line, "route": s.route, "returns": list(s.returns)}
                for s in project.status_endpoints
            ],
            "beat": [
                {
                    "file": b.file,
                    "line": b.span.line,
                    "key": b.key,
                    "task": b.task,
                    "schedule": b.schedule,
                }
                for b in project.beat
            ],
            "worker_commands": [
                {
                    "file": w.file,
                    "line": w.span.line,
                    "command": w.command,
                    "app_target": w.app_target,
                    "subcommand": w.subcommand,
                    "queues": list(w.queues),
                }
                for w in project.worker_commands
            ],
            "frontend_calls": [
                {
                    "file": f.file,
                    "line": f.span.line,
                    "url": f.url,
                    "method": f.method,
                    "states": list(f.states),
                    "fields": list(f.fields),
                }
                for f in project.frontend_calls
            ],
        },
        "findings": [
            {
                "code": f.code,
                "name": f.name,
                "severity": f.severity.value,
                "message": f.message,
                "file": f.file,
                "line": f.span.line,
                "column": f.span.column,
                "end_line": f.span.last_line,
                "end_column": f.span.end_column or f.span.column,
                "related": [
                    {"file": r.file, "line": r.line, "message": r.message} for r in f.related
                ],
                "fix": f.fix,
            }
            for f in report.findings
        ],
    }


def render(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
