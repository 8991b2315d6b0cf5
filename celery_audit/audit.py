"""The pipeline: discover -> extract -> link -> rules. Never prints."""

from __future__ import annotations

import traceback
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from celery_audit.discover import discover
from celery_audit.extract import extract_file
from celery_audit.link import LinkOptions, link
from celery_audit.model.facts import FileFacts
from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules import RULES
from celery_audit.settings import Settings
from celery_audit.suppress import Baseline, apply


@dataclass(frozen=True)
class InternalError:
    """A rule or extractor that crashed: the rest of the results stand."""

    where: str
    message: str
    traceback: str


@dataclass(frozen=True)
class Report:
    """`findings` are the ones to report; `baselined` the ones the baseline hid, and
    `baseline_fixed` the baseline's entries that matched no finding any more."""

    project: Project
    findings: tuple[Finding, ...]
    internal_errors: tuple[InternalError, ...] = ()
    baselined: tuple[Finding, ...] = ()
    baseline_fixed: int = 0


def _internal_error(where: str, error: Exception) -> InternalError:
    """The exception being handled, as an InternalError at `where`."""
    return InternalError(where, f"{error.__class__.__name__}: {error}", traceback.format_exc())


def root_packages(root: Path) -> tuple[str, ...]:
    """Package folders above a scan root that is itself inside a package."""
    names: list[str] = []
    folder = root.resolve()
    while (folder / "__init__.py").is_file():
        names.append(folder.name)
        folder = folder.parent
    return tuple(reversed(names))


def audit(
    root: Path,
    *,
    settings: Settings,
    display_root: str | None = None,
    link_options: LinkOptions | None = None,
    only_files: Collection[str] | None = None,
    baseline: Baseline | None = None,
) -> Report:
    """Scan the repository at `root` (never importing any of it). `only_files`: report only
    findings located in these root-relative paths; `baseline`: leave out known ones."""
    files = discover(root, exclude=settings.exclude)
    base = root if root.is_dir() else root.parent
    options = link_options or LinkOptions(
        context_names=settings.context_names, task_decorators=settings.task_decorators
    )
    vocabulary = tuple(
        sorted(
            {name.rsplit(".", 1)[-1] for name in (*options.context_names, *options.task_decorators)}
        )
    )
    facts: list[FileFacts] = []
    errors: list[InternalError] = []
    for source in files:
        try:
            facts.append(extract_file(base, source, vocabulary=vocabulary))
        except Exception as error:  # a bug on one file must not cost the other files
            errors.append(_internal_error(f"extract {source.path}", error))
    project = link(
        display_root or str(root), facts, root_packages=root_packages(base), options=options
    )
    findings: list[Finding] = []
    for rule in RULES:
        if not settings.selects(rule.code):
            continue
        try:
            findings.extend(rule.check(project))
        except Exception as error:  # a broken rule must not cost the other results
            errors.append(_internal_error(f"rule {rule.code}", error))
    findings.sort(key=Finding.sort_key)
    crashed = {error.where.removeprefix("rule ") for error in errors}
    ran = {rule.code for rule in RULES if settings.selects(rule.code)} - crashed
    kept = apply(findings, facts=facts, root=base, settings=settings, ran=ran, files=only_files, baseline=baseline)  # fmt: skip
    return Report(project, kept.findings, tuple(errors), kept.baselined, kept.fixed)
