"""Settings: defaults < [tool.celery-audit] in the scanned repo's pyproject.toml < CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from celery_audit.config import FileConfig, FileIgnore
from celery_audit.discover import gitignore_matcher
from celery_audit.levels import FAIL_ON
from celery_audit.model.findings import Severity

__all__ = ["FAIL_ON", "FileIgnore", "Selection", "Settings", "resolve"]


def _most_specific(code: str, patterns: tuple[str, ...]) -> int:
    """The length of the longest of `patterns` that `code` starts with (-1: none)."""
    return max((len(p) for p in patterns if code.startswith(p)), default=-1)


@dataclass(frozen=True)
class Selection:
    """One layer of rule selection, resolved as ruff resolves them: a layer with a
    `select` replaces what earlier layers chose, one without adjusts it; within a layer
    the most specific code or prefix wins, and `ignore` wins a tie."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def decide(self, code: str, selected: bool, *, exact: bool = False) -> bool:
        """Whether `code` runs after this layer, given whether it ran before it. With
        `exact` (a rule that is off by default) only the full code selects it; prefixes
        still ignore it."""
        chosen_from = (*(self.select or ()), *self.extend_select)
        if exact:
            chosen_from = tuple(p for p in chosen_from if p == code)
        chosen = _most_specific(code, chosen_from)
        dropped = _most_specific(code, self.ignore)
        if chosen < 0 and dropped < 0:
            return selected if self.select is None else False
        return chosen > dropped


@dataclass(frozen=True)
class Settings:
    """Everything a scan is told. `selection` holds the configuration's layers;
    `select`/`ignore` are the last layer (the command line's). Patterns in `exclude`
    and `per_file_ignores` are gitignore-style, relative to the scanned folder."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str = "warning"
    selection: tuple[Selection, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    per_file_ignores: tuple[FileIgnore, ...] = ()
    context_names: tuple[str, ...] = ()
    task_decorators: tuple[str, ...] = ()

    def selects(self, code: str, *, default: bool = True) -> bool:
        """Whether the rule `code` runs. A rule that is off by default (`default=False`)
        runs only where a select or extend-select names its full code, as ruff runs its
        opt-in rules: `CA714` selects it, `CA7` or `CA` does not."""
        selected = default
        for layer in (*self.selection, Selection(self.select or None, (), self.ignore)):
            selected = layer.decide(code, selected, exact=not default)
        return selected

    def fails(self, severity: Severity) -> bool:
        if self.fail_on == "never":
            return False
        return severity.rank >= Severity(self.fail_on).rank

    def severity_of(self, code: str, default: Severity) -> Severity:
        """The configured severity of `code` (the most specific entry), else `default`."""
        best = max(
            ((len(p), level) for p, level in self.severity if code.startswith(p)),
            key=lambda pair: pair[0],
            default=None,
        )
        return best[1] if best else default

    def ignored_in(self, file: str, code: str) -> bool:
        """Whether per-file-ignores drop `code` in `file` (relative to the scanned folder)."""
        return any(
            _matcher(entry.patterns)(file) != entry.negated
            and any(code.startswith(c) for c in entry.codes)
            for entry in self.per_file_ignores
        )


@lru_cache(maxsize=256)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    return gitignore_matcher(patterns)


def resolve(
    config: FileConfig | None,
    *,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    exclude: tuple[str, ...] | None = None,
    fail_on: str | None = None,
) -> Settings:
    """Defaults, then the configuration file, then the command line: a flag given on
    the command line wins (`--select` replaces the file's select, extend-select and
    ignore; `--ignore` is applied on top; `--exclude` replaces `exclude`, while
    `extend-exclude` still applies)."""
    if config is None:
        return Settings(
            select=select, ignore=ignore, exclude=exclude or (), fail_on=fail_on or "warning"
        )
    layer = Selection(config.select, config.extend_select, config.ignore)
    return Settings(
        select=select,
        ignore=ignore,
        exclude=(*(config.exclude or ()), *config.extend_exclude) if exclude is None
        else (*exclude, *config.extend_exclude),
        fail_on=fail_on or config.fail_on or "warning",
        selection=() if layer == Selection() else (layer,),
        severity=config.severity,
        per_file_ignores=config.per_file_ignores,
        context_names=config.context_bound_names,
        task_decorators=config.task_decorators,
    )  # fmt: skip
