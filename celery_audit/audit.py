"""The pipeline: discover -> extract -> link -> rules. Never prints."""

from __future__ import annotations

import hashlib
import os
import traceback
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celery_audit.cache import FactCache, facts_body, facts_digest, file_key, unpickled_facts
from celery_audit.collector import no_cycle_collection
from celery_audit.discover import discover
from celery_audit.extract import extract_bytes, read_source
from celery_audit.model.facts import FileFacts, SourceFile
from celery_audit.runs import existence
from celery_audit.settings import Settings

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from celery_audit.model.findings import Finding
    from celery_audit.model.project import Linked, LinkOptions, Project
    from celery_audit.suppress import Baseline

# Linking, the rules and suppressions are imported when a run links or checks: a run
# whose files changed no fact replays its output without them (runs.py).


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


@dataclass(frozen=True)
class _Extracted:
    """A file's facts and, for the cache, their digest and pickle (made where they were
    extracted: in the worker processes, in parallel). A worker sends only the pickle
    when there is one (`facts` None): the facts are unpickled from it on arrival."""

    facts: FileFacts | None
    stored: tuple[str, bytes] | None = None

    def arrived(self) -> _Extracted:
        if self.facts is None and self.stored is not None:
            return _Extracted(unpickled_facts(self.stored[1]), self.stored)
        return self


_Outcome = _Extracted | InternalError


def _extract_one(
    source: SourceFile, data: bytes, vocabulary: tuple[str, ...], store: bool
) -> _Outcome:
    try:
        facts = extract_bytes(source, data, vocabulary=vocabulary)
        return _Extracted(facts, facts_body(facts) if store else None)
    except Exception as error:  # a bug on one file must not cost the other files
        return _internal_error(f"extract {source.path}", error)


def _extract_list(
    work: list[tuple[SourceFile, bytes]], vocabulary: tuple[str, ...], store: bool
) -> list[_Outcome]:
    return [_extract_one(source, data, vocabulary, store) for source, data in work]


def _extract_chunk(
    chunk: list[tuple[SourceFile, bytes]], vocabulary: tuple[str, ...], store: bool
) -> list[_Outcome]:
    """Run in a worker process: the outcomes of a chunk of files, in order; facts that
    were pickled for the cache are sent as that pickle only (`_Extracted.arrived`)."""
    from celery_audit.extract.python import with_large_stack

    outcomes = with_large_stack(_extract_list, chunk, vocabulary, store)
    return [
        _Extracted(None, o.stored) if isinstance(o, _Extracted) and o.stored is not None else o
        for o in outcomes
    ]


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
    work: list[tuple[SourceFile, bytes]], vocabulary: tuple[str, ...], jobs: int, store: bool
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
            pool.submit(_extract_chunk, [work[i] for i in chunk], vocabulary, store): chunk
            for chunk in chunks
        }
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                for i, outcome in zip(chunk, future.result(), strict=True):
                    outcomes[i] = outcome.arrived() if isinstance(outcome, _Extracted) else outcome
            except BrokenProcessPool:
                lost.extend(chunk)
    for i in sorted(lost):
        with _pool(1) as pool:
            try:
                outcome = pool.submit(_extract_chunk, [work[i]], vocabulary, store).result()[0]
                outcomes[i] = outcome.arrived() if isinstance(outcome, _Extracted) else outcome
            except BrokenProcessPool as error:
                outcomes[i] = _crashed(work[i][0], error)
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass(frozen=True)
class _Read:
    """A file as read for extraction: its bytes, the sha256 of its bytes and its cache
    key; or its facts when it could not be read. `data` is None for a file the cache
    knows unchanged by its signature: it is read only if it must be extracted."""

    source: SourceFile
    data: bytes | FileFacts | None
    key: str = ""
    content: str = ""
    signature: list[int] | None = None


def read_all(
    base: Path,
    files: list[SourceFile],
    vocabulary: tuple[str, ...],
    cache: FactCache | None = None,
) -> list[_Read]:
    """Every file's bytes, hashed into its cache key; with a `cache`, a file whose stat
    signature is the one it recorded with the file's content hash is not read at all
    (as ruff and git trust an unchanged stat)."""
    from celery_audit.runs import build, signature

    found = []
    folder = os.path.abspath(base)
    for source in files:
        stat = signature(os.path.join(folder, source.path)) if cache is not None else None
        content = cache.content(source, stat) if cache is not None else None
        data: bytes | FileFacts | None = None
        if content is None:  # taken before the read: a later write changes it
            data = read_source(base, source)
            if isinstance(data, FileFacts):
                found.append(_Read(source, data))
                continue
            content = hashlib.sha256(data).hexdigest()
        key = file_key(content, source, version=build(), vocabulary=vocabulary)
        found.append(_Read(source, data, key, content, stat))
    return found


def _extract_many(
    work: list[tuple[SourceFile, bytes]], vocabulary: tuple[str, ...], jobs: int, store: bool
) -> list[_Outcome]:
    """The outcomes of `work`, in order: in `jobs` processes when there is enough of it.
    `store`: also make what the cache stores of each file."""
    if jobs > 1 and len(work) > PARALLEL_MIN_FILES:
        return _extract_parallel(work, vocabulary, jobs, store)
    from celery_audit.extract.python import with_large_stack

    # Every file in one thread with a stack deep enough for any tree (extract/python).
    return with_large_stack(_extract_list, work, vocabulary, store)


@dataclass
class Scanned:
    """A scan before linking: each file read, with its facts (extracted in this run, or
    its read problem), the digest of its facts in the cache (decoded only if the
    project must be linked again), or the crash of its extraction; and `linked_key`,
    which decides the linked project ("" without a cache)."""

    root: str
    base: Path
    packages: tuple[str, ...]
    context_names: tuple[str, ...]  # the link options
    task_decorators: tuple[str, ...]
    vocabulary: tuple[str, ...]
    reads: list[_Read]
    outcomes: list[FileFacts | str | InternalError | None]
    digests: list[str]
    linked_key: str
    jobs: int
    cache: FactCache | None

    @property
    def errors(self) -> list[InternalError]:
        return [outcome for outcome in self.outcomes if isinstance(outcome, InternalError)]

    def facts(self) -> list[FileFacts]:
        """Every file's facts, decoding cached ones; a cached entry that does not decode
        is extracted again (and its digest, and so the linked key, brought up to date)."""
        redo: list[int] = []
        for index, outcome in enumerate(self.outcomes):
            if isinstance(outcome, str):
                assert self.cache is not None
                found = self.cache.facts(self.reads[index].source, outcome)
                if found is None:
                    redo.append(index)
                else:
                    self.outcomes[index] = found
        if redo:
            self._extract(redo)
        return [outcome for outcome in self.outcomes if isinstance(outcome, FileFacts)]

    def _extract(self, indexes: list[int]) -> None:
        work = []
        for index in indexes:
            read = self.reads[index]
            if read.data is None:  # known by its signature, needed after all: read it
                read = self.reads[index] = _reread(self.base, read, self.vocabulary)
            if isinstance(read.data, FileFacts):
                self.outcomes[index] = read.data
                self.digests[index] = facts_digest(read.data)
                continue
            assert isinstance(read.data, bytes)
            work.append((read.source, read.data))
        indexes = [i for i in indexes if not isinstance(self.reads[i].data, FileFacts)]
        done = _extract_many(work, self.vocabulary, self.jobs, self.cache is not None)
        for index, outcome in zip(indexes, done, strict=True):
            if isinstance(outcome, InternalError):
                self.outcomes[index] = outcome
                continue
            assert outcome.facts is not None  # arrived
            self.outcomes[index] = outcome.facts
            if self.cache is not None:
                read = self.reads[index]
                self.digests[index] = self.cache.put(
                    read.key, outcome.facts, stored=outcome.stored, content=read.content,
                    signature=read.signature,
                )  # fmt: skip
        if self.cache is not None:
            self.linked_key = _linked_key(self)
            self.cache.save()

    def linked(self) -> Linked:
        """The linked project, from the cache when its key is the last run's."""
        found = self.cache.get_linked(self.linked_key) if self.cache is not None else None
        if found is not None:
            return found
        from celery_audit.link import link  # with networkx: not needed when nothing changed
        from celery_audit.model.project import Linked, LinkOptions
        from celery_audit.suppress import suppression_facts

        options = LinkOptions(context_names=self.context_names, task_decorators=self.task_decorators)  # fmt: skip
        known = self.cache.known_cycles() if self.cache is not None else None
        with no_cycle_collection():
            facts = self.facts()
            project = link(self.root, facts, root_packages=self.packages, options=options,
                           known_cycles=known)  # fmt: skip
        if self.cache is not None and known is not None and not self.errors:
            self.cache.put_known_cycles(known)
        directives, functions = suppression_facts(facts)
        linked = Linked(project, directives, functions)
        if self.cache is not None and not self.errors:
            self.cache.put_linked(self.linked_key, linked)
        return linked


def _reread(base: Path, read: _Read, vocabulary: tuple[str, ...]) -> _Read:
    """`read` with its bytes, read now (the key follows what was read)."""
    (found,) = read_all(base, [read.source], vocabulary)
    return found


def _linked_key(scanned: Scanned) -> str:
    """What decides the linked project: every file's path and facts digest, the root as
    displayed, the packages above it and the link options."""
    from celery_audit.runs import build

    head = [
        build(),
        scanned.root,
        *scanned.packages,
        "|",
        *scanned.context_names,
        "|",
        *scanned.task_decorators,
    ]
    digest = hashlib.sha256("\x1f".join(head).encode("utf-8", "surrogatepass"))
    for read, facts in zip(scanned.reads, scanned.digests, strict=True):
        path = read.source.path.encode("utf-8", "surrogatepass")
        digest.update(b"\x00" + path + b"\x1f" + (facts or "crashed").encode())
    return digest.hexdigest()


def root_packages(root: Path, *, consulted: list[str] | None = None) -> tuple[str, ...]:
    """Package folders above a scan root that is itself inside a package. `consulted`
    collects the paths looked at."""
    names: list[str] = []
    folder = root.resolve()
    while True:
        if consulted is not None:
            consulted.append(existence(str(folder / "__init__.py")))
        if not (folder / "__init__.py").is_file():
            break
        names.append(folder.name)
        folder = folder.parent
    return tuple(reversed(names))


def scan_files(
    root: Path,
    *,
    settings: Settings,
    display_root: str | None = None,
    link_options: LinkOptions | None = None,
    jobs: int = 1,
    cache: FactCache | None = None,
    depends: list[str] | None = None,
) -> Scanned:
    """Discover and read the files under `root` and extract those the cache does not
    hold. `depends` collects every path (absolute) the result depends on: the files
    read, and what discovery and the package lookup above the root looked at."""
    base = root if root.is_dir() else root.parent
    inputs: list[str] = []
    known = cache.tree(base, settings.exclude) if cache is not None and root.is_dir() else None
    if known is not None:
        files, inputs = known
    else:
        files = discover(root, exclude=settings.exclude, inputs=inputs)
        if cache is not None and root.is_dir():
            cache.put_tree(base, settings.exclude, inputs, files)
    names = link_options.context_names if link_options else settings.context_names
    decorators = link_options.task_decorators if link_options else settings.task_decorators
    vocabulary = tuple(sorted({name.rsplit(".", 1)[-1] for name in (*names, *decorators)}))
    reads = read_all(base, files, vocabulary, cache)
    packages = root_packages(base, consulted=depends)
    if depends is not None:
        folder = os.path.abspath(base)
        depends += [os.path.join(folder, path) for path in inputs]
        depends += [os.path.join(folder, read.source.path) for read in reads]
    outcomes: list[FileFacts | str | InternalError | None] = []
    digests: list[str] = []
    missing: list[int] = []
    for index, read in enumerate(reads):
        found = cache.digest(read.source, read.key, read.signature) if cache and read.key else None
        if isinstance(read.data, FileFacts):  # a read problem: its facts are at hand
            outcomes.append(read.data)
            digests.append(facts_digest(read.data) if cache is not None else "")
        elif found is not None:
            outcomes.append(found)
            digests.append(found)
        else:
            outcomes.append(None)  # extracted below
            digests.append("")
            missing.append(index)
    shown = display_root or str(root)
    scanned = Scanned(shown, base, packages, names, decorators, vocabulary, reads, outcomes, digests, "", jobs, cache)  # fmt: skip
    with no_cycle_collection():
        scanned._extract(missing)
    return scanned


def check(
    scanned: Scanned,
    *,
    settings: Settings,
    only_files: Collection[str] | None = None,
    baseline: Baseline | None = None,
) -> Report:
    """Link the scanned files (or take the last run's project) and run the rules."""
    from celery_audit.model.findings import Finding
    from celery_audit.rules import RULES
    from celery_audit.suppress import apply

    linked = scanned.linked()
    project = linked.project
    errors = scanned.errors
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
    kept = apply(findings, directives=linked.directives, functions=linked.functions, settings=settings, ran=ran, files=only_files, baseline=baseline)  # fmt: skip
    return Report(project, kept.findings, tuple(errors), kept.baselined, kept.fixed)


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
    scanned = scan_files(root, settings=settings, display_root=display_root, link_options=link_options, jobs=jobs, cache=cache)  # fmt: skip
    return check(scanned, settings=settings, only_files=only_files, baseline=baseline)
