"""No package imports upward: each ``stasn`` package imports only packages of a lower layer (or itself).

Every import counts, at module level or inside a function (a lazy import is still a dependency); imports under
``if TYPE_CHECKING:`` do not (annotations only). Only the CLI and the demo sit above the library.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "stasn"

# Lower number = lower layer. Modules at the top of the package (errors, labels, fileio, ...) are the base.
LAYERS = {
    "": 0,  # stasn/*.py: errors, labels, fileio, pools, media (stasn/__init__.py is checked apart)
    "datasets": 1,
    "data": 2,
    "model": 3,
    "evaluate": 3,
    "synth": 4,
    "train": 5,
    "infer": 5,
    "collect": 6,  # guided capture of live and replay data (uses infer's camera sources and overlays)
    "testing": 6,  # generated inputs for tests and benchmarks; nothing in the library imports them
    "demo": 7,
    "cli": 8,
}


def _package(module: str) -> str:
    """``stasn.data.prepare`` -> ``data``; ``stasn.errors`` / ``stasn`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (SRC / parts[1] / "__init__.py").is_file() else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``stasn`` import in a file, skipping ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("stasn")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stasn"):
            if node.module == "stasn":  # `from stasn import __version__` / `from stasn import video`-style
                found += [(node.lineno, f"stasn.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_every_package_has_a_layer():
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYERS) - {""}, "add the new package to LAYERS"


def test_no_package_imports_upward():
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "__init__.py" or path == SRC / "__main__.py":
            continue  # the package root lazily offers stasn.Detector; `python -m stasn` runs the CLI
        own = _package("stasn." + ".".join(path.relative_to(SRC).with_suffix("").parts))
        for line, module in _imports(path):
            other = _package(module)
            if other != own and LAYERS[other] >= LAYERS[own]:
                upward.append(f"{path.relative_to(SRC.parent)}:{line} ({own or 'base'}) imports {module}")
    assert not upward, "imports at the same or a higher layer:\n" + "\n".join(upward)
