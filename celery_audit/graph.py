"""The project graph: modules and frontend files, import and http edges.

The only importer of networkx, and only when a question needs it: importing networkx
takes 0.1-0.2 s, more than a pre-commit run may, and a project whose module-level
imports have no cycle (checked with the standard library's `graphlib`) has no import
cycle to report. Built once by linking, then asked questions whose names read like
questions (as in grimp/import-linter).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cached_property
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from celery_audit.model.project import Edge

if TYPE_CHECKING:
    import networkx as nx


class ProjectGraph:
    def __init__(self, nodes: Iterable[str], edges: Iterable[Edge]) -> None:
        self._nodes = sorted(nodes)
        self._edges: dict[tuple[str, str], Edge] = {}
        for edge in sorted(edges, key=lambda e: (e.source, e.target, e.kind != "import")):
            if (edge.source, edge.target) not in self._edges:
                self._edges[(edge.source, edge.target)] = edge

    @cached_property
    def _graph(self) -> nx.DiGraph:
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self._nodes)
        for (source, target), edge in self._edges.items():
            graph.add_edge(source, target, kind=edge.kind)
        return graph

    @property
    def edges(self) -> list[Edge]:
        return [self._edges[key] for key in sorted(self._edges)]

    def edge(self, source: str, target: str) -> Edge | None:
        return self._edges.get((source, target))

    def _module_level_imports(self) -> list[tuple[str, str]]:
        return [k for k, e in self._edges.items() if e.kind == "import" and k[0] != k[1]]

    def _module_level(self, imports: list[tuple[str, str]]) -> nx.DiGraph:
        import networkx as nx

        view = nx.DiGraph()
        view.add_nodes_from(self._nodes)
        view.add_edges_from(imports)
        return view

    def import_cycles_through(
        self, modules: set[str], known: dict[str, list[list[Edge]]] | None = None
    ) -> list[list[Edge]]:
        """One import cycle (module-level imports only) per strongly connected group that
        contains one of `modules`: the shortest cycle through the group's
        alphabetically first such module, rotated to start at its smallest member.
        `known`: the answer of an earlier run, by what decides it (the module-level
        import edges, positions included, and `modules`); kept up to date here. Most
        edits change no import, and networkx is 0.1-0.2 s to import."""
        imports = self._module_level_imports()
        if not _has_cycle(imports):
            return []
        key = ""
        if known is not None:
            text = "\n".join([*(repr(self._edges[k]) for k in imports), "|", *sorted(modules)])
            key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            if key in known:
                return known[key]
        found = self._cycles(modules, imports)
        if known is not None:
            known.clear()  # the last answer is the one the next run may reuse
            known[key] = found
        return found

    def _cycles(self, modules: set[str], imports: list[tuple[str, str]]) -> list[list[Edge]]:
        import networkx as nx

        graph = self._module_level(imports)
        cycles = []
        for component in nx.strongly_connected_components(graph):
            if len(component) < 2:
                continue
            members = sorted(component & modules)
            if not members:
                continue
            start = members[0]
            sub = graph.subgraph(component)
            best: list[str] | None = None
            for successor in sorted(sub.successors(start)):
                path = nx.shortest_path(sub, successor, start)
                candidate = [start, *path[:-1]]
                if best is None or len(candidate) < len(best):
                    best = candidate
            assert best is not None
            pivot = best.index(min(best))
            ring = best[pivot:] + best[:pivot]
            cycles.append(
                [self._edges[(ring[i], ring[(i + 1) % len(ring)])] for i in range(len(ring))]
            )
        return sorted(cycles, key=lambda c: [e.source for e in c])

    def integration_subgraph(self, relevant: set[str]) -> tuple[list[str], list[Edge]]:
        """The modules to draw for the Celery integration: the relevant ones, plus the
        modules an import path between two relevant modules must pass through when
        no path among relevant modules alone connects them."""
        import networkx as nx

        keep = set(relevant) & set(self._graph.nodes)
        among = self._graph.subgraph(keep)
        for source in sorted(keep):
            # Walk through non-relevant modules only.
            frontier = [(source, [source])]
            seen = {source}
            while frontier:
                node, path = frontier.pop(0)
                for successor in sorted(self._graph.successors(node)):
                    if successor in seen:
                        continue
                    seen.add(successor)
                    if successor in relevant:
                        if len(path) > 1 and not nx.has_path(among, source, successor):
                            keep.update(path)
                    else:
                        frontier.append((successor, [*path, successor]))
        nodes = sorted(keep)
        edges = [
            e for e in self.edges if e.source in keep and e.target in keep and e.source != e.target
        ]
        return nodes, edges


def _has_cycle(edges: list[tuple[str, str]]) -> bool:
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for source, target in edges:
        sorter.add(source, target)
    try:
        sorter.prepare()
    except CycleError:
        return True
    return False
