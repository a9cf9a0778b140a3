"""The package's shape: dependencies point down. No import cycle among ganlab's modules (imports
inside functions count: a lazy import is still a dependency), and nothing below the command
layer imports `ganlab.cli` or `ganlab.commands`."""

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
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


DOC = SRC.parent / "docs" / "ARCHITECTURE.md"


def documented_layers() -> dict[str, int]:
    """docs/ARCHITECTURE.md's package table: `| layer | `package/` or `module.py` | concern |`."""
    text = DOC.read_text()
    table = text[text.index("## Packages"):text.index("## The path of one run")]
    layers = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"-?\d+", cells[0]):
            name = re.match(r"`([^`]+)`", cells[1]).group(1)
            layers[name.removesuffix("/").removesuffix(".py")] = int(cells[0])
    return layers


def _layer(module: str, layers: dict[str, int]) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else ""
    return top, layers[top]


def test_the_layer_table_names_every_top_level_module_and_package():
    tops = {p.stem for p in (SRC / "ganlab").iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").is_file())}
    assert tops == set(documented_layers()), "update the table in docs/ARCHITECTURE.md"


def test_packages_depend_downward_only():
    layers = documented_layers()
    upward = []
    for mod, deps in import_graph().items():
        if mod == "ganlab":
            continue
        pkg, rank = _layer(mod, layers)
        for dep in deps:
            if dep == "ganlab":
                continue
            dep_pkg, dep_rank = _layer(dep, layers)
            if dep_pkg != pkg and dep_rank >= rank:
                upward.append(f"{mod} (layer {rank}) -> {dep} (layer {dep_rank})")
    assert not upward, upward


def test_the_layer_check_catches_an_upward_import():
    layers = documented_layers()
    assert _layer("ganlab.models.dcgan", layers)[1] < _layer("ganlab.training.loop", layers)[1]
    assert _layer("ganlab.callbacks.health", layers)[1] == _layer("ganlab.algorithms.gan", layers)[1]


# -- what callbacks and evaluators see of a run -------------------------------------------------

def _members(protocol) -> set[str]:
    """A Protocol's attributes and methods, its bases' included."""
    names = set()
    for cls in protocol.__mro__:
        if cls.__module__.startswith("ganlab."):
            names |= set(getattr(cls, "__annotations__", {})) | {k for k in vars(cls) if not k.startswith("_")}
    return names


def _run_uses(package: str) -> dict[str, set[str]]:
    """`run.<name>` in the functions of `package` that take a parameter called `run`, by name ->
    where."""
    uses: dict[str, set[str]] = {}
    for path in sorted((SRC / "ganlab" / package).glob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and "run" in {a.arg for a in fn.args.args}:
                for node in ast.walk(fn):
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "run":
                        uses.setdefault(node.attr, set()).add(f"{path.name}:{node.lineno}")
    return uses


def test_callbacks_and_evaluators_use_only_their_narrow_view_of_the_run():
    from ganlab.callbacks.base import RunView
    from ganlab.metrics.context import EvalContext

    for package, protocol in (("callbacks", RunView), ("metrics", EvalContext)):
        outside = {k: sorted(v) for k, v in _run_uses(package).items() if k not in _members(protocol)}
        assert not outside, f"{package}/ uses run attributes that {protocol.__name__} does not declare: {outside}"


def test_the_training_run_provides_every_member_of_the_views():
    from ganlab.callbacks.base import RunView
    from ganlab.training.run import Run

    tree = ast.parse((SRC / "ganlab" / "training" / "run.py").read_text())
    init = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assigned = {t.attr for n in ast.walk(init) if isinstance(n, ast.Assign | ast.AnnAssign)
                for t in ast.walk(n) if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id == "self"}
    missing = sorted(m for m in _members(RunView) if not hasattr(Run, m) and m not in assigned)
    assert not missing, f"Run lacks {missing}"
