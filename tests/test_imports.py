"""The modules of `jddc/` import each other without a cycle (lazy imports inside functions included).

The graph is read from the source (`ast`), not from `sys.modules`, so an import that only
runs in some code path counts as much as one at the top. An edge goes from a module to each
`jddc` module it names: `import jddc.a.b` and `from jddc.a import b` name `jddc.a.b` when that is a module, and
`from jddc.a import name` of anything else names `jddc.a`, whose attribute it reads.
The packages above a named module are not edges: a package's `__init__` importing its own
modules is the layout of every package, and only reading a partly initialised package
(`from jddc.tasks import get_task` inside a task) is a cycle, which the rule above catches.
"""

from __future__ import annotations

import ast
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "jddc"


def module_files(root: str = REPO, package: str = PACKAGE) -> dict[str, str]:
  """Dotted module name -> its file, for every `.py` under `root/package`."""
  modules = {}
  for folder, _, names in os.walk(os.path.join(root, package)):
    for name in names:
      if not name.endswith(".py"):
        continue
      parts = os.path.relpath(os.path.join(folder, name), root)[:-3].split(os.sep)
      if parts[-1] == "__init__":
        parts = parts[:-1]
      modules[".".join(parts)] = os.path.join(folder, name)
  return modules


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
  """The absolute name of `from <level dots><target> import ...` written in `module`."""
  if not level:
    return target or ""
  base = module.split(".") if is_package else module.split(".")[:-1]
  base = base[:len(base) - (level - 1)]
  return ".".join(base + ([target] if target else []))


def imported_modules(module: str, path: str, known: set[str]) -> set[str]:
  """The modules of `known` that `module` (source file `path`) imports, at any depth of its code."""
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), filename=path)
  is_package = os.path.basename(path) == "__init__.py"
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      source = _resolve(module, is_package, node.level, node.module)
      names = [f"{source}.{alias.name}" for alias in node.names]  # a module, or an attribute of `source`
    else:
      continue
    for name in names:
      while name and name not in known:  # `import jddc.a.b.c`: the module jddc.a.b if c is not one
        name = name.rpartition(".")[0]
      if name and name != module:
        found.add(name)
  return found


def import_graph(root: str = REPO, package: str = PACKAGE) -> dict[str, set[str]]:
  """Module -> the package's modules it imports."""
  files = module_files(root, package)
  known = set(files)
  return {m: imported_modules(m, p, known) for m, p in sorted(files.items())}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
  """A cycle [a, b, ..., a] of the graph, or None if it is acyclic (iterative depth-first search)."""
  state = {}  # module -> "open" (on the current path) or "done"
  for start in sorted(graph):
    if start in state:
      continue
    path, stack = [start], [iter(sorted(graph[start]))]
    state[start] = "open"
    while stack:
      nxt = next(stack[-1], None)
      if nxt is None:
        state[path.pop()] = "done"
        stack.pop()
      elif state.get(nxt) == "open":
        return path[path.index(nxt):] + [nxt]
      elif nxt not in state:
        state[nxt] = "open"
        path.append(nxt)
        stack.append(iter(sorted(graph.get(nxt, ()))))
  return None


def test_the_graph_reader_sees_lazy_relative_and_from_imports(tmp_path):
  pkg = tmp_path / "pkg"
  (pkg / "sub").mkdir(parents=True)
  (pkg / "__init__.py").write_text("")
  (pkg / "sub" / "__init__.py").write_text("from pkg.sub.b import thing\n")
  (pkg / "a.py").write_text("def f():\n  from pkg.sub import b  # lazy\n  return b\n")
  (pkg / "sub" / "b.py").write_text("from .. import c\nthing = 1\n")
  (pkg / "c.py").write_text("import os\nimport pkg.a\nfrom pkg.sub import thing\n")
  graph = import_graph(str(tmp_path), "pkg")
  assert graph["pkg.a"] == {"pkg.sub.b"}
  assert graph["pkg.sub.b"] == {"pkg.c"}
  assert graph["pkg.sub"] == {"pkg.sub.b"}
  assert graph["pkg.c"] == {"pkg.a", "pkg.sub"}
  assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
  (pkg / "c.py").write_text("import os\n")
  assert find_cycle(import_graph(str(tmp_path), "pkg")) is None


def test_jddc_has_no_import_cycle():
  graph = import_graph()
  assert len(graph) > 40 and "jddc.train" in graph["jddc.main"]
  cycle = find_cycle(graph)
  if cycle:
    pytest.fail("import cycle in jddc/: " + " -> ".join(cycle))
