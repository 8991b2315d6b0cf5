"""What the diagram shows: the Celery integration subgraph, collapsed to packages
until it stays readable. Computed here so that renderers only format."""

from __future__ import annotations

from celery_audit.graph import ProjectGraph
from celery_audit.model.project import Diagram, DiagramEdge, DiagramNode, Project

MAX_NODES = 30
ROLE_ORDER = ("app", "workers", "resources", "extensions", "config", "frontend", "module")


def relevant_modules(project: Project) -> set[str]:
    """Modules that create an app, define, dispatch or schedule tasks, serve task status
    or provide a task context."""
    found = {a.module for a in project.celery_apps} | {a.module for a in project.flask_apps}
    found |= {t.module for t in project.tasks}
    found |= {c.module for c in project.call_sites if c.task}
    found |= {b.module for b in project.beat}
    found |= {s.module for s in project.status_endpoints}
    for app in project.celery_apps:
        if app.context_base and "." in app.context_base:
            found.add(app.context_base.rsplit(".", 1)[0])
    found |= {e.target for e in project.edges if e.kind == "http"}
    return found & {m.name for m in project.modules}


def diagram(project: Project, *, scope: str = "celery", max_nodes: int = MAX_NODES) -> Diagram:
    roles = {m.name: m for m in project.modules}
    python_edges = [e for e in project.edges if e.kind != "http"]
    graph = ProjectGraph(roles, python_edges)
    if scope == "full":
        names, edges = sorted(roles), graph.edges
    else:
        names, edges = graph.integration_subgraph(relevant_modules(project))
    cycle_pairs = {(e.source, e.target) for cycle in project.cycles for e in cycle}
    group = {name: name for name in names}
    collapsed = False
    depth = max((n.count(".") + 1 for n in names), default=1)
    while len(set(group.values())) > max_nodes and depth > 1:
        depth -= 1
        group = {name: ".".join(name.split(".")[:depth]) for name in names}
        collapsed = True
    nodes: dict[str, DiagramNode] = {}
    for name in names:
        key = group[name]
        members = [n for n in names if group[n] == key]
        if len(members) == 1 and key == name:
            nodes[key] = DiagramNode(key, roles[name].file, roles[name].role)
        else:
            role = min((roles[m].role for m in members), key=ROLE_ORDER.index)
            nodes[key] = DiagramNode(key, key.replace(".", "/") + "/", role, len(members))
    seen: dict[tuple[str, str], DiagramEdge] = {}
    for edge in edges:
        source, target = group[edge.source], group[edge.target]
        if source == target:
            continue
        in_cycle = (edge.source, edge.target) in cycle_pairs
        previous = seen.get((source, target))
        kind = (
            "import"
            if edge.kind == "import" or (previous and previous.kind == "import")
            else edge.kind
        )
        seen[(source, target)] = DiagramEdge(
            source, target, kind, in_cycle or bool(previous and previous.in_cycle)
        )
    frontend = sorted({e.source for e in project.edges if e.kind == "http"})
    for node in frontend:
        nodes[node] = DiagramNode(
            node, "frontend" if len(frontend) == 1 else node.removeprefix("frontend:"), "frontend"
        )
    for edge in project.edges:
        if edge.kind == "http" and edge.target in group:
            seen[(edge.source, group[edge.target])] = DiagramEdge(
                edge.source, group[edge.target], "http"
            )
    return Diagram(
        nodes=tuple(sorted(nodes.values(), key=lambda n: n.id)),
        edges=tuple(seen[k] for k in sorted(seen)),
        collapsed=collapsed,
    )
