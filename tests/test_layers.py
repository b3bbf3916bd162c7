"""The house in wings: the layer contracts of pyproject.toml hold, and they fail on an import that breaks them."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "edgebrain"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
WINGS = {"cli", "app", "evaluation", "transports", "homeassistant", "listen", "core", "understand", "devices",
         "mqtt", "models", "base"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts on the package under ``root`` (its own code first on the path)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_every_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


# An import that points up also closes a cycle between the wings (the lower one is imported from above
# already), so it breaks the no-cycles contract too.
@pytest.mark.parametrize(("module", "line", "broken", "contract", "says"), [
    # understanding reaching for the broker
    ("understand/words/numbers.py", "from edgebrain.mqtt.outbox import Outgoing", 1,
     "no broker, transport, pin or web", "edgebrain.understand is not allowed to import edgebrain.mqtt"),
    # the core reaching up for a transport
    ("core/handler.py", "from edgebrain.transports.console import HINT", 2,
     "Each wing imports only the wings below it", "edgebrain.core is not allowed to import edgebrain.transports"),
    # the words reading ahead into the model
    ("understand/words/rooms.py", "from edgebrain.understand.model.trie import TokenTrie", 2,
     "the words are read before, and without, the model",
     "edgebrain.understand.words is not allowed to import edgebrain.understand.model"),
    # a cycle between two modules of one wing
    ("core/loop.py", "from edgebrain.core.inbox import Inbox", 1, "No import cycles", "- .loop -> .inbox (1 import)"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, broken, contract, says):
    shutil.copytree(PACKAGE, tmp_path / "edgebrain", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / "edgebrain" / module
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    assert sep, module
    path.write_text(f"{head}{sep}\n{line}  # noqa: F401\n{rest}", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"Contracts: {4 - broken} kept, {broken} broken." in result.stdout, result.stdout
    report = result.stdout[result.stdout.index("Broken contracts"):]
    assert contract in report and says in report, report


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_lives_in_a_wing_of_at_most_fifteen():
    outside = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert outside == []
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} == WINGS
    for package in {p.parent for p in _modules()}:
        modules = [p for p in package.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 15, f"{package.relative_to(PACKAGE)}: {len(modules)} modules"
        assert (package / "__init__.py").read_text(encoding="utf-8").startswith('"""'), package  # says what it holds


def test_no_module_over_400_lines_and_no_class_over_150():
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 400, path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                assert node.end_lineno - node.lineno + 1 <= 150, f"{path}: class {node.name}"
