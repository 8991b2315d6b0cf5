"""Name resolution from the project's own import tables.

Every Python file contributes a `ModuleTable` (its imports and bindings). A dotted name
read in some scope of some module is resolved by looking its head up in that scope's
imports and bindings, then walking attributes through modules (and re-exports from
`__init__`), definitions and external packages. No per-file scope analysis runs; see
docs/design.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery_audit.model.facts import Binding, Import, ModuleTable, Ref

MAX_DEPTH = 24  # re-export and alias chains longer than this are cycles in practice


@dataclass(frozen=True)
class Target:
    """What a name resolves to.

    kind: "module" (a project module), "def" (a project function/class/assignment,
    `binding` set), "member" (an attribute path below a def: `db.session` is member
    "session" of def `extensions.db`), or "external" (anything outside the project:
    `name` is its qualified name, `flask.current_app`).
    """

    kind: str
    name: str
    module: str | None = None
    binding: Binding | None = None
    member: str = ""

    @property
    def base(self) -> str:
        """The qualified name of the def a member hangs from."""
        if self.kind == "member":
            return self.name[: -len(self.member) - 1]
        return self.name


def module_parts(path: str) -> list[str]:
    """The parts of a root-relative POSIX path to a module, its file's suffix and a
    package's `__init__` dropped (`pkg/tasks.py` -> pkg, tasks; `pkg/__init__.py` ->
    pkg); as pathlib would give them, without its cost (linking splits every path of
    the project)."""
    parts = path.split("/")
    name = parts[-1]
    dot = name.rfind(".")
    if 0 < dot < len(name) - 1:
        parts[-1] = name[:dot]
    if parts[-1] == "__init__":
        parts.pop()
    return parts


def path_aliases(names: dict[str, str]) -> dict[str, str]:
    """Other dotted names each module is importable under: its path from the scanned
    root with any of the non-package folders above its import root (`src.shop.tasks`
    for `src/shop/tasks.py`, a namespace-package import from the repository root).
    Names that are modules of their own are left out."""
    taken = set(names.values())
    aliases: dict[str, str] = {}
    for path, name in names.items():
        parts = module_parts(path)
        own = name.count(".") + 1
        for start in range(len(parts) - own - 1, -1, -1):
            if start < 0 or not all(p.isidentifier() for p in parts[start:]):
                break
            alias = ".".join(parts[start:])
            if alias not in taken:
                aliases.setdefault(alias, name)
    return aliases


def module_names(paths: list[str], root_packages: tuple[str, ...] = ()) -> dict[str, str]:
    """Dotted module name of every Python file path.

    A file's import root is its nearest ancestor folder that is not a package (has no
    `__init__.py` among the scanned files), so flat layouts, packages and `src/`
    layouts all come out right. `root_packages` are the package folders above the
    scanned root (a scan started inside a package) to prefix.
    """
    present = set(paths)
    names = {}
    for path in paths:
        parts = module_parts(path)
        # Drop leading folders that are not packages.
        start = len(parts) - 1 if path.rpartition("/")[2] != "__init__.py" else len(parts)
        while start > 0 and "/".join([*parts[:start], "__init__.py"]) in present:
            start -= 1
        dotted = (
            ".".join([*root_packages, *parts[start:]]) if start == 0 else ".".join(parts[start:])
        )
        names[path] = dotted or (root_packages[-1] if root_packages else "__init__")
    return names


_NONE: dict[str, Any] = {}


class Resolver:
    """Resolves dotted names across the project's modules."""

    def __init__(
        self,
        tables: dict[str, ModuleTable],
        packages: set[str],
        aliases: dict[str, str] | None = None,
        shadowed: frozenset[str] = frozenset(),
        *,
        local: dict[tuple[str, str], str] | None = None,
        roots: dict[str, str] | None = None,
    ) -> None:
        self.tables = tables
        self.packages = packages
        # Modules whose dotted name another project of the scan has (a monorepo's two
        # `app.tasks`): by (import root, dotted name), the key they are known by. An
        # import of the name from their own import root (`roots`: each module's) means
        # them.
        self.local = local or {}
        self.roots = roots or {}
        # Other dotted names a module is importable under (`src.shop.tasks` for
        # `shop.tasks` from the repository root): imports through them resolve to it.
        self.aliases = aliases or {}
        # Top-level project modules named like the package they import (`celery.py`
        # doing `from celery import Celery`): absolute imports of the name mean the
        # installed package.
        self.shadowed = shadowed
        # Their leading parts (`src`, `src.shop` when `shop` is not a package there).
        self.namespaces = {
            alias.rsplit(".", depth)[0]
            for alias in self.aliases
            for depth in range(1, alias.count(".") + 1)
        } - set(tables)
        self._imports: dict[tuple[str, str], list[Import]] = {}
        # By (module, scope) and name: the binding resolution follows (the first def or
        # class, else the first assignment: a later `x = wrap(x)` does not hide the
        # def), and the import (the last unconditional one, else the last one).
        self._binding_of: dict[tuple[str, str], dict[str, Binding]] = {}
        self._import_of: dict[tuple[str, str], dict[str, Import]] = {}
        for module, table in tables.items():
            for imp in table.imports:
                self._imports.setdefault((module, imp.scope), []).append(imp)
                if imp.alias is None:
                    continue
                chosen = self._import_of.setdefault((module, imp.scope), {})
                current = chosen.get(imp.alias)
                if current is None or current.conditional or not imp.conditional:
                    chosen[imp.alias] = imp
            for binding in table.bindings:
                chosen_binding = self._binding_of.setdefault((module, binding.scope), {})
                first = chosen_binding.get(binding.name)
                if first is None or (first.kind == "assign" and binding.kind != "assign"):
                    chosen_binding[binding.name] = binding

    def imports_by_scope(self) -> list[tuple[tuple[str, str], list[Import]]]:
        """Every (module, scope) with the imports written there."""
        return list(self._imports.items())

    def binding(self, module: str, scope: str, name: str) -> Binding | None:
        """The binding `name` has in exactly `scope` of `module` (no outer scopes)."""
        return self._binding_of.get((module, scope), {}).get(name)

    def is_module(self, name: str) -> bool:
        return name in self.tables

    def through_alias(self, dotted: str) -> tuple[str, str] | None:
        """(the other dotted path, the module it is) of the longest prefix of `dotted`
        that imports a project module by another path (`src.shop.tasks` in
        `src.shop.tasks.export`); None when no prefix does."""
        path = dotted
        while path:
            if path in self.aliases:
                return path, self.aliases[path]
            path = path.rpartition(".")[0]
        return None

    def canonical(self, name: str, importer: str | None = None) -> str | None:
        """The project module `name` denotes, under its own or another dotted path;
        `importer`: the module whose import names it (its own project's module of that
        name, if there is one, comes first)."""
        if self.local and importer is not None:
            found = self.local.get((self.roots.get(importer, ""), name))
            if found is not None:
                return found
        if name in self.tables:
            return name
        return self.aliases.get(name)

    def localized(self, dotted: str, root: str) -> str:
        """`dotted` as the project at import `root` means it: its longest prefix that
        is a module of that project known by another key, replaced by the key."""
        if self.local:
            prefix = dotted
            while prefix:
                found = self.local.get((root, prefix))
                if found is not None:
                    return found + dotted[len(prefix) :]
                prefix = prefix.rpartition(".")[0]
        return dotted

    def absolute(self, module: str, imp: Import) -> str:
        """The absolute module an import statement names (relative ones resolved)."""
        if imp.level == 0:
            return imp.module
        package = module if module in self.packages else module.rpartition(".")[0]
        parts = package.split(".") if package else []
        if imp.level > 1:
            parts = parts[: len(parts) - (imp.level - 1)]
        return ".".join(p for p in [*parts, imp.module] if p)

    def _shadowed(self, imp: Import) -> bool:
        return imp.level == 0 and imp.module.split(".", 1)[0] in self.shadowed

    def imported_module(self, module: str, imp: Import) -> str | None:
        """The most specific project module an import loads, or None."""
        if self._shadowed(imp):
            return None
        base = self.absolute(module, imp)
        if imp.name is not None:
            candidate = f"{base}.{imp.name}" if base else imp.name
            found = self.canonical(candidate, module)
            if found is not None:
                return found
        name = base
        while name:
            found = self.canonical(name, module)
            if found is not None:
                return found
            name = name.rpartition(".")[0]
        return None

    # -- resolution --------------------------------------------------------------------

    def resolve(self, module: str, ref: Ref | str, _depth: int = 0) -> Target | None:
        """What `ref` (a dotted name read in `ref.scope` of `module`) refers to."""
        if isinstance(ref, str):
            ref = Ref(ref)
        head, _, rest = ref.dotted.partition(".")
        target = self.resolve_name(module, head, ref.scope, _depth)
        for attr in rest.split(".") if rest else ():
            if target is None:
                return None
            target = self.attribute(target, attr, _depth)
        return target

    def resolve_name(
        self, module: str, name: str, scope: str = "", _depth: int = 0
    ) -> Target | None:
        if _depth > MAX_DEPTH:
            return None
        found = self._lookup(module, name, scope)
        if isinstance(found, Binding):
            return self._binding_target(module, found, _depth)
        if isinstance(found, Import):
            return self._import_target(module, found, _depth)
        return None

    def _lookup(self, module: str, name: str, scope: str) -> Binding | Import | None:
        """What binds `name` read in `scope` of `module`: the innermost scope's binding
        or import (a binding written after the import wins), outer scopes after."""
        while True:
            binding = self._binding_of.get((module, scope), _NONE).get(name)
            imp = self._import_of.get((module, scope), _NONE).get(name)
            if binding is not None and (imp is None or binding.span.line > imp.span.line):
                return binding
            if imp is not None:
                return imp
            if not scope:
                return None
            scope = scope.rpartition(".")[0]

    def spelled(self, module: str, ref: Ref) -> str | None:
        """`ref` spelled out through the import that binds its head, as the importing
        code names it (`src.clinic.reminders.send_reminder` for `send_reminder` after
        `from src.clinic.reminders import send_reminder`); None when no import binds it."""
        head, _, rest = ref.dotted.partition(".")
        imp = self._lookup(module, head, ref.scope)
        path = self._imported_path(module, imp) if isinstance(imp, Import) else None
        if path is None:
            return None
        return f"{path}.{rest}" if rest else path

    def _imported_path(self, module: str, imp: Import) -> str | None:
        """The absolute dotted name an import binds (`a` for `import a.b`, `a.b` for
        `import a.b as c`, `x.y` for `from x import y`); None for `import *`."""
        base = self.absolute(module, imp)
        if imp.name is None:
            return base if not imp.binds_submodule else base.split(".", 1)[0]
        if imp.name == "*":
            return None
        return f"{base}.{imp.name}" if base else imp.name

    def _binding_target(self, module: str, binding: Binding, depth: int) -> Target:
        qualname = ".".join(p for p in (module, binding.scope, binding.name) if p)
        if binding.kind == "assign" and binding.value_ref and binding.value_call is None:
            # `task = tasks.export`: an alias, resolve what it names.
            aliased = self.resolve(module, Ref(binding.value_ref, binding.scope), depth + 1)
            if aliased is not None:
                return aliased
        return Target("def", qualname, module, binding)

    def _import_target(self, module: str, imp: Import, depth: int) -> Target | None:
        candidate = self._imported_path(module, imp)
        if candidate is None:
            return None
        if self._shadowed(imp):
            return Target("external", candidate)
        if imp.name is None:
            module_ = self.canonical(candidate, module)
            if module_ is not None:
                return Target("module", module_, module_)
            if candidate in self.namespaces:
                return Target("namespace", candidate)
            return Target("external", candidate)
        base = self.absolute(module, imp)
        module_ = self.canonical(candidate, module)
        if module_ is not None:
            return Target("module", module_, module_)
        base_module = self.canonical(base, module)
        if base_module is not None:
            found = self.resolve_name(base_module, imp.name, "", depth + 1)
            if found is not None:
                return found
            return Target("external", candidate)
        if candidate in self.namespaces:
            return Target("namespace", candidate)
        return Target("external", candidate)

    def attribute(self, target: Target, attr: str, depth: int = 0) -> Target | None:
        if target.kind == "module":
            sub = f"{target.name}.{attr}"
            found = self.resolve_name(target.name, attr, "", depth + 1)
            if found is not None:
                return found
            if sub in self.tables:
                return Target("module", sub, sub)
            return None
        if target.kind == "namespace":
            sub = f"{target.name}.{attr}"
            module_ = self.canonical(sub)
            if module_ is not None:
                return Target("module", module_, module_)
            return Target("namespace", sub) if sub in self.namespaces else None
        if target.kind == "external":
            return Target("external", f"{target.name}.{attr}")
        member = f"{target.member}.{attr}" if target.member else attr
        return Target("member", f"{target.name}.{attr}", target.module, target.binding, member)
