"""Checks of the package's shape, read from the source with `ast` (nothing is imported).

- No import cycle between tlm modules. An edge `a -> b` means that module `a` imports module
  `b`, at its top or inside a function (a lazy import still makes `a` need `b`; only imports
  under `if TYPE_CHECKING:`, which never run, are left out). The target is the exact module
  named: `import tlm.x.y` and `from tlm.x.y import name` give `tlm.x.y`; `from tlm.x import y`
  gives `tlm.x.y` when `y` is a submodule, else `tlm.x` (the package's `__init__`). A package
  is the module of its `__init__.py`, so its re-exports are edges from the package. Parent
  packages are not added as targets: importing `tlm.data.corpora` also runs
  `tlm/data/__init__.py`, but that package importing its own submodules is no cycle in
  practice. `importlib.import_module` calls with a computed name are not followed.
- No tlm module uses another tlm module's private names (a single leading underscore): not by
  `from tlm.x import _name`, and not as `module._name` on a tlm module it imported.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tlm"


def module_files(root=ROOT):
    """{module name: path} for every .py file of the package under `root`."""
    modules = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test):
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"


def _imports(nodes):
    """Every `Import` / `ImportFrom` under `nodes` that can run, in source order: function
    bodies included, code under `if TYPE_CHECKING:` left out."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse)
        else:
            yield from _imports(ast.iter_child_nodes(node))


def _base_module(node, module, is_package):
    """The absolute module name an `ImportFrom` reads from (relative imports resolved)."""
    if not node.level:
        return node.module
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _resolve(node, module, is_package, modules):
    """For each name the import binds: (imported module, name taken from it or None,
    (bound name, the tlm module it is bound to) or None)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in modules:
                continue
            # `import tlm.x.y as z` binds `z` to tlm.x.y; `import tlm.x.y` binds `tlm` to tlm.
            if alias.asname:
                binding = (alias.asname, alias.name)
            else:
                binding = (alias.name.split(".")[0], alias.name.split(".")[0])
            yield alias.name, None, binding
        return
    base = _base_module(node, module, is_package)
    if base not in modules:
        return
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            yield submodule, None, (alias.asname or alias.name, submodule)
        else:
            yield base, alias.name, None


def import_graph(root=ROOT):
    """({module: {imported module: [places]}}, [private names used]) for the package."""
    modules = module_files(root)
    graph = {name: {} for name in modules}
    private = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        where = path.relative_to(root).as_posix()
        aliases = {}  # names bound to tlm modules in this file
        for node in _imports([tree]):
            for target, name, binding in _resolve(node, module, is_package, modules):
                if target != module:
                    graph[module].setdefault(target, []).append(f"{where}:{node.lineno}")
                if name is not None and name.startswith("_") and not name.startswith("__"):
                    private.append(f"{where}:{node.lineno}: from {target} import {name}")
                if binding is not None:
                    aliases[binding[0]] = binding[1]
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                target = aliases[node.value.id]
                private.append(f"{where}:{node.lineno}: {target}.{node.attr}")
    return graph, private


def find_cycles(graph):
    """[(a shortest cycle, every module of its group)] per strongly connected group of modules:
    the cycle a list of names from its first module back to it."""
    return sorted(
        (_shortest_cycle(graph, group), sorted(group)) for group in _connected_groups(graph)
    )


def _connected_groups(graph):
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while node not in group:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def _shortest_cycle(graph, group):
    """A shortest cycle through the group's first module (breadth-first search)."""
    start = min(group)
    paths, queue = {start: [start]}, [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return [*paths[node], start]
            if target in group and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return None


def _describe(cycle, graph):
    steps = [cycle[0]]
    for source, target in zip(cycle, cycle[1:], strict=False):
        steps.append(f"-> {target} ({', '.join(graph[source][target])})")
    return " ".join(steps)


def test_no_import_cycles():
    graph, _ = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, "Import cycles between tlm modules:\n" + "\n".join(
        f"{_describe(cycle, graph)}\n  (modules of this cycle group: {', '.join(group)})"
        for cycle, group in cycles
    )


def test_no_private_names_imported_from_other_modules():
    _, private = import_graph()
    assert not private, "Private names used across tlm modules:\n" + "\n".join(private)


# The checks themselves, on small made-up packages: they must be able to fail.


def _package(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_the_cycle_check_finds_lazy_and_package_cycles(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "def f():\n    from tlm.b import g\n",
            "b.py": "import tlm.a\n",
            "sub/__init__.py": "from tlm.sub.c import C\n",
            "sub/c.py": "from tlm import sub\nfrom tlm.sub import d\n",
            "sub/d.py": "from . import c\n",
            "e.py": "from tlm.sub import C\nfrom tlm.sub.c import C\n",
        },
    )
    graph, _ = import_graph(root)
    assert graph["tlm.sub.c"] == {"tlm.sub": ["tlm/sub/c.py:1"], "tlm.sub.d": ["tlm/sub/c.py:2"]}
    assert graph["tlm.e"] == {"tlm.sub": ["tlm/e.py:1"], "tlm.sub.c": ["tlm/e.py:2"]}
    assert find_cycles(graph) == [
        (["tlm.a", "tlm.b", "tlm.a"], ["tlm.a", "tlm.b"]),
        (["tlm.sub", "tlm.sub.c", "tlm.sub"], ["tlm.sub", "tlm.sub.c", "tlm.sub.d"]),
    ]
    assert "tlm.sub.c -> tlm.sub.d (tlm/sub/c.py:2) -> tlm.sub.c (tlm/sub/d.py:1)" in (
        _describe(["tlm.sub.c", "tlm.sub.d", "tlm.sub.c"], graph)
    )


def test_the_cycle_check_ignores_parents_and_type_checking(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "from tlm.data.pipeline import prepare\n",
            "data/pipeline.py": "from tlm.data.corpora import load\nimport tlm.models\n",
            "data/corpora.py": "",
            "models.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from tlm.data import pipeline\n"
            ),
        },
    )
    graph, _ = import_graph(root)
    assert graph["tlm.data"] == {"tlm.data.pipeline": ["tlm/data/__init__.py:1"]}
    assert graph["tlm.models"] == {}
    assert find_cycles(graph) == []


def test_the_private_check_finds_imports_and_module_attributes(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "_hidden = 1\n__version__ = 2\n",
            "b.py": (
                "from tlm.a import _hidden, __version__\n"
                "import tlm.a as a\n"
                "from tlm import a as other\n"
                "a._hidden, other._hidden, a.__version__\n"
                "def f(self):\n"
                "    return self._own\n"
            ),
        },
    )
    _, private = import_graph(root)
    assert private == [
        "tlm/b.py:1: from tlm.a import _hidden",
        "tlm/b.py:4: tlm.a._hidden",
        "tlm/b.py:4: tlm.a._hidden",
    ]
