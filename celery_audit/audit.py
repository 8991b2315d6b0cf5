"""The pipeline: discover -> extract -> link -> rules. Never prints."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from celery_audit.discover import discover
from celery_audit.extract import extract_file
from celery_audit.link import LinkOptions, link
from celery_audit.model.findings import Finding
from celery_audit.model.project import Project
from celery_audit.rules import RULES
from celery_audit.settings import Settings


@dataclass(frozen=True)
class InternalError:
    """A rule or extractor that crashed: the rest of the results stand."""

    where: str
    message: str
    traceback: str


@dataclass(frozen=True)
class Report:
    project: Project
    findings: tuple[Finding, ...]
    internal_errors: tuple[InternalError, ...] = ()


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
) -> Report:
    """Scan the repository at `root` (never importing any of it)."""
    files = discover(root, exclude=settings.exclude)
    base = root if root.is_dir() else root.parent
    options = link_options or LinkOptions()
    vocabulary = tuple(
        sorted(
            {name.rsplit(".", 1)[-1] for name in (*options.context_names, *options.task_decorators)}
        )
    )
    facts = [extract_file(base, source, vocabulary=vocabulary) for source in files]
    project = link(
        display_root or str(root), facts, root_packages=root_packages(base), options=options
    )
    findings: list[Finding] = []
    errors: list[InternalError] = []
    for rule in RULES:
        if not settings.selects(rule.code):
            continue
        try:
            findings.extend(rule.check(project))
        except Exception as error:  # a broken rule must not cost the other results
            errors.append(
                InternalError(
                    f"rule {rule.code}",
                    f"{error.__class__.__name__}: {error}",
                    traceback.format_exc(),
                )
            )
    findings.sort(key=Finding.sort_key)
    return Report(project, tuple(findings), tuple(errors))
