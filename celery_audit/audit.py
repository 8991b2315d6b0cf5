"""The pipeline: discover -> extract -> link -> rules. Never prints."""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celery_audit.cache import FactCache, Linked, file_key
from celery_audit.collector import no_cycle_collection
from celery_audit.discover import discover
from celery_audit.extract import extract_bytes, read_source
from celery_audit.model.facts import FileFacts, SourceFile
from celery_audit.model.findings import Finding
from celery_audit.model.project import LinkOptions, Project
from celery_audit.rules import RULES
from celery_audit.settings import Settings
from celery_audit.suppress import Baseline, apply, suppression_facts

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


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


# -- extraction: cache, then worker processes -------------------------------------------

# Below this many files to extract, starting worker processes costs more than it saves.
PARALLEL_MIN_FILES = 50

_Outcome = FileFacts | InternalError


def _extract_one(source: SourceFile, data: bytes, vocabulary: tuple[str, ...]) -> _Outcome:
    try:
        return extract_bytes(source, data, vocabulary=vocabulary)
    except Exception as error:  # a bug on one file must not cost the other files
        return _internal_error(f"extract {source.path}", error)


def _extract_chunk(
    chunk: list[tuple[SourceFile, bytes]], vocabulary: tuple[str, ...]
) -> list[_Outcome]:
    """Run in a worker process: the outcomes of a chunk of files, in order."""
    return [_extract_one(source, data, vocabulary) for source, data in chunk]


def _crashed(source: SourceFile, error: BaseException) -> InternalError:
    message = f"{error.__class__.__name__}: the extraction process died ({error})"
    return InternalError(f"extract {source.path}", message, "")


def _pool(jobs: int) -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork where there is one: workers start at once, without importing anything again.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def _extract_parallel(
    work: list[tuple[SourceFile, bytes]], vocabulary: tuple[str, ...], jobs: int
) -> list[_Outcome]:
    """The outcomes of `work`, in order, from `jobs` processes. A worker that dies (a
    segmentation fault, the OOM killer) breaks the whole pool: the files of the chunks it
    took down are then run again one at a time, each in a fresh process, so that only the
    file that kills its process becomes an internal error."""
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    size = max(1, min(64, len(work) // (jobs * 8)))
    chunks = [list(range(i, min(i + size, len(work)))) for i in range(0, len(work), size)]
    outcomes: list[_Outcome | None] = [None] * len(work)
    lost: list[int] = []
    with _pool(jobs) as pool:
        futures = {
            pool.submit(_extract_chunk, [work[i] for i in chunk], vocabulary): chunk
            for chunk in chunks
        }
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                for i, outcome in zip(chunk, future.result(), strict=True):
                    outcomes[i] = outcome
            except BrokenProcessPool:
                lost.extend(chunk)
    for i in sorted(lost):
        with _pool(1) as pool:
            try:
                outcomes[i] = pool.submit(_extract_chunk, [work[i]], vocabulary).result()[0]
            except BrokenProcessPool as error:
                outcomes[i] = _crashed(work[i][0], error)
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass(frozen=True)
class _Read:
    """A file as read for extraction: its bytes and cache key, or its facts when it
    could not be read."""

    source: SourceFile
    data: bytes | FileFacts
    key: str = ""


def read_all(base: Path, files: list[SourceFile], vocabulary: tuple[str, ...]) -> list[_Read]:
    """Every file's bytes, hashed into its cache key."""
    from celery_audit import __version__

    found = []
    for source in files:
        data = read_source(base, source)
        if isinstance(data, FileFacts):
            found.append(_Read(source, data))
        else:
            key = file_key(data, source, version=__version__, vocabulary=vocabulary)
            found.append(_Read(source, data, key))
    return found


def extract_all(
    reads: list[_Read],
    *,
    vocabulary: tuple[str, ...] = (),
    jobs: int = 1,
    cache: FactCache | None = None,
) -> tuple[list[FileFacts], list[InternalError]]:
    """The facts of the files `reads` holds (in their order) and the extractions that
    crashed. What the cache does not hold is extracted, in `jobs` processes when there
    is enough of it."""
    outcomes: list[_Outcome | None] = [None] * len(reads)
    work: list[tuple[SourceFile, bytes]] = []
    slots: list[int] = []
    for index, read in enumerate(reads):
        if isinstance(read.data, FileFacts):
            outcomes[index] = read.data
            continue
        if cache is not None:
            found = cache.get(read.source, read.key)
            if found is not None:
                outcomes[index] = found
                continue
        work.append((read.source, read.data))
        slots.append(index)
    if jobs > 1 and len(work) > PARALLEL_MIN_FILES:
        done = _extract_parallel(work, vocabulary, jobs)
    else:
        done = [_extract_one(source, data, vocabulary) for source, data in work]
    for index, outcome in zip(slots, done, strict=True):
        outcomes[index] = outcome
        if cache is not None and isinstance(outcome, FileFacts):
            cache.put(reads[index].key, outcome)
    if cache is not None:
        cache.save()
    facts = [outcome for outcome in outcomes if isinstance(outcome, FileFacts)]
    errors = [outcome for outcome in outcomes if isinstance(outcome, InternalError)]
    return facts, errors


def _linked_key(
    reads: list[_Read], root: str, packages: tuple[str, ...], options: LinkOptions
) -> str:
    """What decides the linked project: every file's key (or read problem), the root
    as displayed, the packages above it and the link options."""
    from celery_audit import __version__

    digest = hashlib.sha256()
    head = [
        __version__,
        root,
        *packages,
        "|",
        *options.context_names,
        "|",
        *options.task_decorators,
    ]
    digest.update("\x1f".join(head).encode("utf-8", "surrogatepass"))
    for read in reads:
        digest.update(b"\x00" + read.source.path.encode("utf-8", "surrogatepass") + b"\x1f")
        if isinstance(read.data, FileFacts):
            digest.update(repr(read.data).encode("utf-8", "surrogatepass"))
        else:
            digest.update(read.key.encode())
    return digest.hexdigest()


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
    jobs: int = 1,
    cache: FactCache | None = None,
) -> Report:
    """Scan the repository at `root` (never importing any of it). `only_files`: report only
    findings located in these root-relative paths; `baseline`: leave out known ones;
    `jobs`: extraction processes; `cache`: where facts of unchanged files are kept."""
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
    reads = read_all(base, files, vocabulary)
    packages = root_packages(base)
    shown = display_root or str(root)
    # Nothing changed since the last run: its linked project stands (no facts decoded).
    key = _linked_key(reads, shown, packages, options) if cache is not None else ""
    linked = cache.get_linked(key) if cache is not None else None
    errors: list[InternalError] = []
    if linked is None:
        from celery_audit.link import link  # with networkx: not needed when nothing changed

        with no_cycle_collection():
            facts, errors = extract_all(reads, vocabulary=vocabulary, jobs=jobs, cache=cache)
            project = link(shown, facts, root_packages=packages, options=options)
        directives, functions = suppression_facts(facts)
        if cache is not None and not errors:
            cache.put_linked(key, Linked(project, directives, functions))
    else:
        project, directives, functions = linked.project, linked.directives, linked.functions
    findings: list[Finding] = []
    selected = [r for r in RULES if settings.selects(r.code, default=r.default_enabled)]
    for rule in selected:
        try:
            findings.extend(rule.check(project))
        except Exception as error:  # a broken rule must not cost the other results
            errors.append(_internal_error(f"rule {rule.code}", error))
    findings.sort(key=Finding.sort_key)
    crashed = {error.where.removeprefix("rule ") for error in errors}
    ran = {rule.code for rule in selected} - crashed
    kept = apply(findings, directives=directives, functions=functions, settings=settings, ran=ran, files=only_files, baseline=baseline)  # fmt: skip
    return Report(project, kept.findings, tuple(errors), kept.baselined, kept.fixed)
