"""Benchmark celery-audit against the `ast.parse` floor and ruff, side by side.

    python benchmarks/run.py                      # a ~100k-line synthetic repository
    python benchmarks/run.py --repo PATH          # a copy of PATH (the copy gets the caches)
    python benchmarks/run.py --scaling 25         # also 1x/4x/16x of 25 module groups

Run it with the interpreter of a regular install (`pip install .`, not `-e`): it runs
`python -m celery_audit`, and an editable install's import hook adds 15-30 ms to every
start, as much as a whole replayed run takes.

Times are the median wall time of --repeat runs, each a fresh process; peak RSS is the
largest resident set of any one process of the run (worker processes included). The
floor is measured between the cold runs, and ruff after each warm or one-file run: on a
machine whose speed drifts, a ratio then compares measurements taken together.
"One file changed" runs as pre-commit does (the changed file as FILES), after a run of
the same command line (the previous commit's), each repeat with a different edit:
"no fact" appends a comment, "new facts" appends a function.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

# Runs `argv` and prints its wall time and the peak RSS of its process tree (KiB).
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "wall = time.perf_counter() - start\n"
    "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


# Measured runs may write bytecode, as an installed tool's do: with
# PYTHONDONTWRITEBYTECODE set, every run would compile celery-audit's modules again.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of `argv`."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, env=_ENV
    )
    wall, rss = out.stdout.split()
    return float(wall), int(rss) / 1024


def median(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def python_files(root: Path) -> list[Path]:
    skip = {".git", ".celery_audit_cache", ".ruff_cache", "node_modules", ".venv", "venv"}
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        found += [Path(folder, f) for f in sorted(files) if f.endswith(".py")]
    return found


def parse_floor(root: Path, repeat: int) -> tuple[float, int, int]:
    """Median seconds to read and `ast.parse` every Python file in this process."""
    files = python_files(root)
    times = []
    lines = 0
    for _ in range(repeat):
        start = time.perf_counter()
        lines = 0
        for path in files:
            data = path.read_bytes()
            lines += data.count(b"\n")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with contextlib.suppress(SyntaxError, ValueError):
                    ast.parse(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(files), lines


def celery_audit(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "celery_audit", "scan", str(root), "--format", "json", *args]


def one_file(root: Path) -> Path:
    """The file to edit for the one-file-changed run: a task module if there is one."""
    files = python_files(root)
    tasks = [f for f in files if f.name == "tasks.py"]
    return (tasks or files)[len(tasks or files) // 2]


def _ruff_command(root: Path, cache_dir: str) -> list[str] | None:
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    return [ruff, "check", str(root), "--exit-zero", "--cache-dir", cache_dir] if ruff else None


def bench(
    root: Path, repeat: int, jobs: int | None
) -> tuple[float, dict[str, tuple[float, float]]]:
    """The floor and each row. This machine's speed drifts from minute to minute, so
    what is compared is measured in turns: each cold run right after a pass of the
    floor, each run of celery-audit right before one of ruff."""
    extra = ["--jobs", str(jobs)] if jobs else []
    cache = root / ".celery_audit_cache"
    rows: dict[str, tuple[float, float]] = {}
    measure(
        [*celery_audit(root, *extra), "--no-cache"]
    )  # bytecode written, files in the page cache
    floors, cold = [], []
    for _ in range(repeat):
        floors.append(parse_floor(root, 1)[0])
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(measure(celery_audit(root, *extra)))
    rows["celery-audit cold"] = median(cold)
    with tempfile.TemporaryDirectory() as ruff_cache:
        ruff = _ruff_command(root, ruff_cache)
        ruffs: list[tuple[float, float]] = []

        def then_ruff(sample: tuple[float, float]) -> tuple[float, float]:
            if ruff:
                ruffs.append(measure(ruff))
            return sample

        if ruff:
            measure(ruff)  # fill ruff's cache
        rows["celery-audit warm"] = median(
            [then_ruff(measure(celery_audit(root, *extra))) for _ in range(repeat)]
        )
        # One file changed, as pre-commit runs it (the changed file as FILES), after a
        # run of the same command line: once with an edit that changes no fact (a
        # comment), once with one that does (a new function), each repeat another edit.
        target = one_file(root)
        original = target.read_bytes()
        edits = {
            "one file changed, no fact": lambda i: f"\n# edit {i}\n",
            "one file changed, new facts": lambda i: (
                f"\n\ndef _benchmark_edit_{i}():\n    return {i}\n"
            ),
        }
        try:
            for name, edit in edits.items():
                measure(celery_audit(root, *extra, str(target)))  # the last commit's run
                changed = []
                for i in range(repeat):
                    target.write_bytes(original + edit(i).encode())
                    changed.append(then_ruff(measure(celery_audit(root, *extra, str(target)))))
                rows[f"celery-audit {name}"] = median(changed)
                target.write_bytes(original)
        finally:
            target.write_bytes(original)
        if ruffs:
            rows["ruff check warm"] = median(ruffs)
    shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(floors), rows


def table(root: Path, repeat: int, jobs: int | None) -> None:
    _, count, lines = parse_floor(root, 1)
    floor, rows = bench(root, repeat, jobs)
    ruff = rows.get("ruff check warm", (0.0, 0.0))[0]
    print(f"\n{root}: {count} Python files, {lines} lines; {os.cpu_count()} CPUs")
    print(
        f"| {'stage':<36} | {'wall (s)':>8} | {'x floor':>7} | {'x ruff':>6} | {'peak RSS MB':>11} |"
    )
    print(f"|{'-' * 38}|{'-' * 10}:|{'-' * 8}:|{'-' * 7}:|{'-' * 12}:|")
    print(f"| {'ast.parse floor (1 process)':<36} | {floor:8.3f} | {1:7.2f} | {'':>6} | {'':>11} |")
    for name, (wall, rss) in rows.items():
        x_ruff = f"{wall / ruff:6.1f}" if ruff else "     -"
        print(f"| {name:<36} | {wall:8.3f} | {wall / floor:7.2f} | {x_ruff} | {rss:11.0f} |")


def scaling(base: int, repeat: int, jobs: int | None) -> None:
    print(f"\nScaling (synthetic, {base} module groups = 1x; {os.cpu_count()} CPUs)")
    print(
        "| size | files | lines | floor (s) | cold (s) | cold/file (ms) | warm (s) | peak RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1, 4, 16):
            root = Path(tmp) / f"x{factor}"
            generate(root, base * factor)
            floor, count, lines = parse_floor(root, 1)
            extra = ["--jobs", str(jobs)] if jobs else []
            cold, rss = median([measure(celery_audit(root, *extra))])
            warm, warm_rss = median([measure(celery_audit(root, *extra)) for _ in range(repeat)])
            print(
                f"| {factor}x | {count} | {lines} | {floor:.2f} | {cold:.2f} | "
                f"{1000 * cold / count:.2f} | {warm:.2f} | {max(rss, warm_rss):.0f} |"
            )
            shutil.rmtree(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="benchmark a copy of this repository")
    parser.add_argument("--modules", type=int, default=225, help="synthetic module groups")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, help="celery-audit --jobs (default: its own)")
    parser.add_argument("--scaling", type=int, metavar="BASE", help="1x/4x/16x of BASE groups")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        if args.repo:
            shutil.copytree(args.repo, root, symlinks=True)
        else:
            generate(root, args.modules)
        table(root, args.repeat, args.jobs)
    if args.scaling:
        scaling(args.scaling, args.repeat, args.jobs)


if __name__ == "__main__":
    main()
