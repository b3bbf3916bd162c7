"""The mutation check: break one safety promise at a time and see that the tests named for it notice.

Each entry of tests/mutations/*.toml is a one-line change to the source (``find`` occurs exactly once in
``file``, ``replace`` is the broken text) and the test files or node ids that must fail on it. The
change is made in a scratch copy of the repository, never in the working tree, and only the listed
tests run there, so the whole list costs minutes rather than a suite run per mutation.

    .venv/bin/python tests/mutate.py            # every mutation
    .venv/bin/python tests/mutate.py --only NAME [--only NAME ...]
    .venv/bin/python tests/mutate.py --list

A mutation is *caught* when its tests fail (pytest exit status 1), *survived* when they pass, and an
*error* when pytest could not run them (a stale ``find`` text, a collection error): only the first
counts. The listed tests are first run once on the unchanged copy; a failure there stops the check,
since a mutation "caught" by a test that fails anyway proves nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATIONS = ROOT / "tests" / "mutations"
# What a scratch copy leaves out: the virtual environment stays where it is (it runs the copy's code,
# which comes first on the path), and caches would only carry state between mutations.
_SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Mutation:
    """One broken promise: where the source changes, how, and which tests must notice."""

    name: str
    promise: str
    file: str
    find: str
    replace: str
    tests: tuple[str, ...]
    source: str  # the .toml file it came from


def load(directory: Path = MUTATIONS) -> list[Mutation]:
    """Every mutation of every list, in file and then list order; names must be unique."""
    found: list[Mutation] = []
    for path in sorted(directory.glob("*.toml")):
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("mutation", []):
            found.append(Mutation(entry["name"], entry["promise"], entry["file"], entry["find"], entry["replace"],
                                  tuple(entry["tests"]), path.name))
    names = [m.name for m in found]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise SystemExit(f"mutation names used twice: {', '.join(dupes)}")
    return found


def apply(mutation: Mutation, root: Path) -> None:
    """Make the change in the copy at ``root``; SystemExit-free ValueError when ``find`` is stale."""
    path = root / mutation.file
    text = path.read_text(encoding="utf-8")
    count = text.count(mutation.find)
    if count != 1:
        raise ValueError(f"{mutation.file}: the text to change occurs {count} times (it must occur once)")
    path.write_text(text.replace(mutation.find, mutation.replace), encoding="utf-8")


def _copy(destination: Path) -> None:
    shutil.copytree(ROOT, destination, ignore=lambda _d, names: [n for n in names if n in _SKIP])


def _pytest(root: Path, tests: tuple[str, ...], log: Path) -> int:
    """Run the tests on the copy at ``root`` (its code first on the path); pytest's exit status."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    with log.open("w") as out:
        return subprocess.run(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                              check=False).returncode


def _uses_copy(root: Path) -> bool:
    """True when Python started in the copy imports the copy's package, not the working tree's."""
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-c", "import edgebrain; print(edgebrain.__file__)"], cwd=root,
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    return Path(out).resolve().is_relative_to(root.resolve())


def main(argv: list[str] | None = None) -> int:
    """Run the mutation check; exit status 0 only when every mutation run was caught."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="run only this mutation (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutations and the tests of each")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and the logs")
    args = parser.parse_args(argv)
    mutations = load()
    if args.only:
        unknown = set(args.only) - {m.name for m in mutations}
        if unknown:
            parser.error(f"no such mutation: {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m.name in args.only]
    if args.list:
        for m in mutations:
            print(f"{m.name:44} {m.file}  ->  {' '.join(m.tests)}\n{'':44} {m.promise}")
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="edgebrain-mutate-"))
    copy, logs = scratch / "repo", scratch / "logs"
    logs.mkdir()
    _copy(copy)
    if not _uses_copy(copy):
        print("the scratch copy's tests would import the working tree's edgebrain; cannot check", file=sys.stderr)
        return 2
    every_test = tuple(dict.fromkeys(t for m in mutations for t in m.tests))
    print(f"{len(mutations)} mutations; first the {len(every_test)} listed tests on the unchanged code ...",
          flush=True)
    if (status := _pytest(copy, every_test, logs / "baseline.log")) != 0:
        print(f"the listed tests fail without any mutation (pytest exit {status}); see {logs / 'baseline.log'}")
        return 2
    results: dict[str, list[str]] = {"caught": [], "survived": [], "error": []}
    for number, mutation in enumerate(mutations, 1):
        started = time.monotonic()
        target = copy / mutation.file
        original = target.read_bytes()
        log = logs / f"{mutation.name}.log"
        try:
            apply(mutation, copy)
            status = _pytest(copy, mutation.tests, log)
            outcome = {0: "survived", 1: "caught"}.get(status, "error")
            detail = "" if outcome != "error" else f" (pytest exit {status}; {log})"
        except ValueError as exc:
            outcome, detail = "error", f" ({exc})"
        finally:
            target.write_bytes(original)
        results[outcome].append(mutation.name)
        print(f"[{number:2}/{len(mutations)}] {outcome.upper():8} {mutation.name}  "
              f"({time.monotonic() - started:.0f} s){detail}", flush=True)
        if outcome == "survived":
            print(f"          promise broken unnoticed: {mutation.promise}", flush=True)
    print(f"\n{len(results['caught'])} caught, {len(results['survived'])} survived, {len(results['error'])} errors"
          f" of {len(mutations)}")
    for outcome in ("survived", "error"):
        if results[outcome]:
            print(f"{outcome}: {', '.join(results[outcome])}")
    if args.keep or results["survived"] or results["error"]:
        print(f"logs: {logs}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if len(results["caught"]) == len(mutations) else 1


if __name__ == "__main__":
    sys.exit(main())
