"""The Mermaid diagram (`graph TD`), in the seed document's shape: app -> extensions /
resources / workers, frontend -> resources. Lazy imports are dotted, cycles red."""

from __future__ import annotations

import re

from celery_audit.audit import Report
from celery_audit.model.project import Diagram
from celery_audit.report import ROLE_COLOURS
from celery_audit.topology import diagram


def node_id(name: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def render_diagram(view: Diagram) -> str:
    lines = ["graph TD"]
    for node in view.nodes:
        label = node.label if node.members == 1 else f"{node.label} ({node.members} modules)"
        lines.append(f"    {node_id(node.id)}[{_label(label)}]")
    red = []
    for index, edge in enumerate(view.edges):
        arrow = "-.->" if edge.kind == "lazy-import" else "-->"
        note = "|cycle|" if edge.in_cycle else ""
        lines.append(f"    {node_id(edge.source)} {arrow}{note} {node_id(edge.target)}")
        if edge.in_cycle:
            red.append(str(index))
    roles = sorted({n.role for n in view.nodes if n.role in ROLE_COLOURS})
    for role in roles:
        fill, stroke = ROLE_COLOURS[role]
        lines.append(f"    classDef {role} fill:{fill},stroke:{stroke}")
        members = ",".join(node_id(n.id) for n in view.nodes if n.role == role)
        lines.append(f"    class {members} {role}")
    if red:
        lines.append(f"    linkStyle {','.join(red)} stroke:#dc2626,stroke-width:2px")
    return "\n".join(lines) + "\n"


def render(report: Report, *, graph: str = "celery") -> str:
    return render_diagram(diagram(report.project, scope=graph))
