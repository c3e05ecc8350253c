"""The house: dependencies run one way (README, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

KB = Path(__file__).resolve().parent.parent / "kb"
TOP = {"cli", "ui", "view"}  # the presentation layer
FEATURES = {"bank", "search", "lint", "review", "targets", "learn"}
LEAVES = {"model", "errors", "template", "dirs"}


def _imports(path: Path) -> set[str]:
    """kb modules a file imports, as dotted names below kb (e.g. 'search.index')."""
    rel = path.relative_to(KB).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                mod = [*base, *(node.module.split(".") if node.module else [])]
                names = [".".join(mod)] if node.module else [".".join([*base, a.name]) for a in node.names]
                out.update(n for n in names if n)
            elif node.module and node.module.split(".")[0] == "kb":
                out.add(".".join(node.module.split(".")[1:]))
        elif isinstance(node, ast.Import):
            out.update(".".join(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "kb")
    return {m for m in out if m}


def _modules():
    for path in sorted(KB.rglob("*.py")):
        yield path, path.relative_to(KB).parts[0].removesuffix(".py"), _imports(path)


def test_nothing_imports_the_cli_or_the_ui():
    bad = [(str(p.relative_to(KB)), m) for p, top, ms in _modules() for m in ms
           if m.split(".")[0] in {"cli", "ui"} and top not in {"cli", "ui"}]
    assert bad == []


def test_model_and_leaves_import_nothing_from_kb_above_them():
    for _path, top, ms in _modules():
        if top == "model":
            assert ms == set(), ms
        elif top in ("errors",):
            assert ms == set(), ms
        elif top == "template":
            assert {m.split(".")[0] for m in ms} <= {"errors"}, ms


def test_feature_packages_never_reach_up_to_presentation():
    bad = [(str(p.relative_to(KB)), m) for p, top, ms in _modules() if top in FEATURES | LEAVES
           for m in ms if m.split(".")[0] in TOP]
    assert bad == []
