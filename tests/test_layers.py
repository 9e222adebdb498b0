"""The relay's folders are its layers, and imports run one way (docs/architecture.md).

web → intake → store; delivery → notify → intake → store; web → results → intake → store;
delivery, reach and accounts → intake → store (web may use them too); nothing imports web or cli except
the app factory (``widget_server/__init__.py``) and the CLI. The vocabulary modules
(config, errors, vocab, i18n) import no layer. Function-local imports count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "widget_server"

# What each layer may import from the relay (besides itself and the vocabulary modules).
ALLOWED: dict[str, set[str]] = {
    "store": set(),
    "intake": {"store"},
    "notify": {"intake", "store"},
    "results": {"intake", "store"},
    "reach": {"intake", "store"},
    "accounts": {"intake", "store"},
    "delivery": {"intake", "store", "notify"},
    # The console's delivery page operates the outbox queue (list, replay, resume).
    "web": {"intake", "results", "store", "notify", "reach", "accounts", "delivery"},
    "cli": {"intake", "results", "store", "delivery", "web", "notify", "reach", "accounts"},
}
VOCABULARY = {"config", "errors", "vocab", "i18n"}
LAYERS = set(ALLOWED)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ``widget_server…`` module ``path`` imports, anywhere in it, resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("widget_server"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.startswith("widget_server"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts or p.name == "env.py")


def _known(name: str) -> bool:
    parts = name.split(".")
    return (PACKAGE.parent.joinpath(*parts).with_suffix(".py").exists()
            or PACKAGE.parent.joinpath(*parts, "__init__.py").exists())


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    module = _module_name(path)
    layer = _layer(module)
    if module == "widget_server" or layer == "wsgi":
        return  # the app factory puts the layers together
    wrong = []
    for target in sorted(_imports(path)):
        if not _known(target):
            continue  # ``from x import name``: a name, not a module
        other = _layer(target)
        if other is None or other == layer or other in VOCABULARY:
            continue
        if layer in VOCABULARY:
            wrong.append(target)  # the vocabulary imports no layer
        elif other in LAYERS and other not in ALLOWED.get(layer or "", set()):
            wrong.append(target)
    assert not wrong, f"{module} imports {wrong}: see docs/architecture.md for the layers"


def test_nothing_below_web_imports_web() -> None:
    offenders = {
        _module_name(p): sorted(t for t in _imports(p) if t.startswith("widget_server.web"))
        for p in _sources()
        if _layer(_module_name(p)) in {"store", "intake", "notify", "delivery", "results", "reach", "accounts"} | VOCABULARY
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_no_import_cycles() -> None:
    graph = {_module_name(p): {t for t in _imports(p) if _known(t) and t != _module_name(p)}
             for p in _sources()}
    # Package __init__ files that only re-export are not edges back into their children.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt == "widget_server" or nxt.startswith(node + "."):
                continue  # the package root's factory, and a package importing its own modules
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == []


def test_no_module_does_several_jobs() -> None:
    """A module over about 300 lines is a sign it does more than one thing."""
    long = {str(p.relative_to(PACKAGE)): n for p in _sources()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 320}
    assert long == {}
