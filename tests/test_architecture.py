"""The dependency rules of docs/architecture.md, checked on the source: every import statement of every
module (at the top or inside a function) points down the layers, nothing outside `research/` imports
torch or lightning, nothing imports `whosthat.cli`, and services never build SQL."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "whosthat"

# Higher layers may import lower ones (and their own); never the other way round.
LAYERS = {
    "cli": 9,
    "__main__": 9,
    "commands": 8,
    "web": 7,
    "services": 6,
    "research": 5.5,  # trains models from vision/datasets (and liveness' preprocessing); nothing serves from it
    "liveness": 5,
    "gallery": 5,
    "store": 5,
    "vision": 4,
    "models": 3,
    "datasets": 3,
    "config": 1,
    "i18n": 0.5,  # the catalogues and the locale formats (Babel); config checks the default language
    "errors": 1,
    "__init__": 0,
}
HEAVY = ("torch", "lightning", "torchvision", "timm")


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out.append((".".join(("whosthat", *parts)), path))
    return out


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(("whosthat", *path.relative_to(SRC).parts[:-1]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from whosthat import vision` names a subpackage, not just the package
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if module == "whosthat"]
    return found


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(SRC.parent)}:{line}"


MODULES = _modules()


def test_every_area_has_a_layer():
    assert {_area(m) for m, _ in MODULES} <= set(LAYERS)


def test_imports_point_down_the_layers():
    wrong = []
    for module, path in MODULES:
        area = _area(module)
        for line, target in _imports(path):
            if not target.startswith("whosthat.") or target == "whosthat":
                continue
            other = _area(target)
            if other not in LAYERS or other == area:
                continue
            # commands may start training, which lives in research/
            if LAYERS[other] > LAYERS[area] and not (area == "commands" and other == "research"):
                wrong.append(f"{_where(path, line)}: {area} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_nothing_outside_research_imports_torch_or_lightning():
    found = [
        f"{_where(path, line)}: {target}"
        for module, path in MODULES
        if _area(module) != "research"
        for line, target in _imports(path)
        if target.split(".")[0] in HEAVY
    ]
    assert not found, "\n".join(found)


def test_nothing_imports_the_cli():
    found = [
        f"{_where(path, line)}"
        for module, path in MODULES
        if module not in ("whosthat.cli", "whosthat.__main__")
        for line, target in _imports(path)
        if target == "whosthat.cli"
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("area", ["services", "web", "gallery", "liveness", "vision", "commands"])
def test_sql_lives_in_the_store(area):
    """Only store/ builds SQL: select/insert/update/delete statements and raw text()."""
    builders = {"select", "insert", "update", "delete", "text"}
    found = []
    for module, path in MODULES:
        if _area(module) != area:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {a.name for a in node.names} & builders
                if names:
                    found.append(f"{_where(path, node.lineno)}: imports {', '.join(sorted(names))}")
    assert not found, "\n".join(found)


def test_every_onnxruntime_session_is_made_by_onnx_session():
    """`models.onnx.onnx_session` puts every session on the process's one shared thread pool, and
    onnxruntime then refuses a session with a pool of its own; so no module (nor test) builds one
    directly."""
    root = SRC.parents[1]
    direct = [
        f"{path.relative_to(root)}:{node.lineno}"
        for path in sorted([*SRC.rglob("*.py"), *(root / "tests").rglob("*.py")])
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", None)) == "InferenceSession"
        and path != SRC / "models" / "onnx.py"
    ]
    assert not direct, f"build sessions with whosthat.models.onnx.onnx_session: {direct}"
