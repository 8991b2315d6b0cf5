"""The diagram as Graphviz DOT (pydot), or SVG/PNG when Graphviz's `dot` is installed.
The only importer of pydot."""

from __future__ import annotations

import shutil
from typing import cast

import pydot

from celery_audit.audit import Report
from celery_audit.report import ROLE_COLOURS
from celery_audit.topology import diagram


class GraphvizMissing(RuntimeError):
    """svg/png asked for, but Graphviz's `dot` program is not installed."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build(report: Report, *, graph: str = "celery") -> pydot.Dot:
    view = diagram(report.project, scope=graph)
    dot = pydot.Dot("celery_integration", graph_type="digraph", rankdir="TB")
    dot.set_node_defaults(shape="box", style="rounded,filled", fontname="Helvetica")
    for node in view.nodes:
        label = node.label if node.members == 1 else f"{node.label} ({node.members} modules)"
        dot.add_node(
            pydot.Node(
                _quote(node.id),
                label=_quote(label),
                fillcolor=_quote(ROLE_COLOURS.get(node.role, ("#ffffff", ""))[0]),
            )
        )
    for edge in view.edges:
        line = pydot.Edge(_quote(edge.source), _quote(edge.target))
        if edge.kind == "lazy-import":
            line.set("style", "dashed")
        if edge.in_cycle:
            line.set("color", "red")
            line.set("label", "cycle")
        dot.add_edge(line)
    return dot


def render(report: Report, *, graph: str = "celery", fmt: str = "dot") -> str | bytes:
    dot = build(report, graph=graph)
    if fmt == "dot":
        return str(dot.to_string())
    if shutil.which("dot") is None:
        raise GraphvizMissing(
            f"--format {fmt} needs Graphviz's `dot` program on PATH; use --format dot"
        )
    # pydot's annotation says str; Graphviz output for svg/png is bytes.
    return cast(bytes, dot.create(format=fmt))
