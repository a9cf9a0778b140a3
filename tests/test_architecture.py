"""The package's shape: dependencies point down. No import cycle among ganlab's modules (imports
inside functions count: a lazy import is still a dependency), and nothing below the command
layer imports `ganlab.cli` or `ganlab.commands`."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
COMMAND_LAYER = ("ganlab.__main__", "ganlab.cli", "ganlab.commands")


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(SRC).with_suffix("").parts)
    return name.removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(f): f for f in (SRC / "ganlab").rglob("*.py")}
    graph = {m: set() for m in files}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                while name and name not in files:  # `from ganlab.x import func` -> module ganlab.x
                    name = name.rpartition(".")[0]
                if name and name != mod and not mod.startswith(name + "."):
                    graph[mod].add(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_no_import_cycle_among_ganlab_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_never_imports_the_command_layer():
    graph = import_graph()
    offenders = {m: sorted(d for d in deps if d.startswith(COMMAND_LAYER))
                 for m, deps in graph.items() if not m.startswith(COMMAND_LAYER)}
    assert not {m: d for m, d in offenders.items() if d}


def test_cli_is_a_small_dispatcher():
    assert len((SRC / "ganlab" / "cli.py").read_text().splitlines()) <= 80


# higher depends on lower only (DESIGN.md 3): commands -> training -> algorithms, callbacks ->
# models, losses, data, metrics -> config, files, signals -> errors
LAYERS = {"__main__": 6, "cli": 5, "commands": 4, "training": 3, "algorithms": 2, "callbacks": 2, "analysis": 2,
          "models": 1, "losses": 1, "data": 1, "metrics": 1,
          "config": 0, "files": 0, "signals": 0, "errors": -1}


def _layer(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else ""
    return top, LAYERS.get(top, 0)


def test_packages_depend_downward_only():
    upward = []
    for mod, deps in import_graph().items():
        if mod == "ganlab":
            continue
        pkg, rank = _layer(mod)
        for dep in deps:
            dep_pkg, dep_rank = _layer(dep)
            if dep_pkg != pkg and dep != "ganlab" and dep_rank >= rank:
                upward.append(f"{mod} -> {dep}")
    assert not upward, upward
