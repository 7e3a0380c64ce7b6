"""What each top-level name of a notebook is bound to, read from its source (never run).

The kernel runs the cells in order, so the last binding of a name is the one the probe
calls: a ``def``, a class, an assignment (``mse = other_function``, ``mse = lambda ...``,
``mse = decorate(f)``), an import, or something the judge cannot follow (a ``for``
target, tuple unpacking, ``mse += ...``). Statements nested in a top-level ``if``,
``try``, ``with`` or loop run at top level too, so their bindings count.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass, field

from autograder.judge.source import NotebookSource


class BindingKind(enum.Enum):
    DEF = "def"
    CLASS = "class"
    VALUE = "value"  # an assignment; ``node`` is the assigned expression
    IMPORT = "import"  # ``qualified`` is the dotted name imported
    OTHER = "other"  # bound in a way the judge does not follow; ``node`` is the statement


@dataclass(frozen=True)
class Binding:
    kind: BindingKind
    node: ast.AST
    cell: int
    qualified: str = ""


@dataclass
class Bindings:
    names: dict[str, Binding] = field(default_factory=dict)
    # Functions reachable as an attribute ``obj.<name>``: methods, ``obj.name = f``,
    # ``SimpleNamespace(name=f)``, ``{"name": f}``.
    attributes: dict[str, list[Binding]] = field(default_factory=dict)
    # Names a function rebinds through a ``global`` statement: (cell, node).
    global_rebinds: dict[str, tuple[int, ast.AST]] = field(default_factory=dict)
    star_imports: list[tuple[int, ast.ImportFrom]] = field(default_factory=list)

    def module_names(self) -> set[str]:
        return {n for n, b in self.names.items() if b.kind is BindingKind.IMPORT}


def _imported(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(bound name, qualified name) for each alias of an import statement."""
    pairs = []
    for alias in node.names:
        if isinstance(node, ast.Import):
            if alias.asname:
                pairs.append((alias.asname, alias.name))
            else:
                top = alias.name.split(".")[0]
                pairs.append((top, top))
        else:
            module = "." * node.level + (node.module or "")
            pairs.append((alias.asname or alias.name, f"{module}.{alias.name}"))
    return pairs


class _Collector:
    def __init__(self) -> None:
        self.found = Bindings()

    def bind(self, name: str, binding: Binding) -> None:
        self.found.names[name] = binding

    def attribute(self, name: str, binding: Binding) -> None:
        self.found.attributes.setdefault(name, []).append(binding)

    def target(self, target: ast.expr, value: ast.expr | None, statement: ast.stmt,
               cell: int) -> None:
        if isinstance(target, ast.Name):
            kind = BindingKind.VALUE if value is not None else BindingKind.OTHER
            self.bind(target.id, Binding(kind, value if value is not None else statement, cell))
        elif isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            if values is not None and len(values) == len(target.elts) and not any(
                    isinstance(e, ast.Starred) for e in [*values, *target.elts]):
                for sub_target, sub_value in zip(target.elts, values, strict=True):
                    self.target(sub_target, sub_value, statement, cell)
            else:
                for sub_target in target.elts:
                    self.target(sub_target, None, statement, cell)
        elif isinstance(target, ast.Starred):
            self.target(target.value, None, statement, cell)
        elif isinstance(target, ast.Attribute) and value is not None:
            self.attribute(target.attr, Binding(BindingKind.VALUE, value, cell))

    def statements(self, body: list[ast.stmt], cell: int) -> None:
        for statement in body:
            self.statement(statement, cell)

    def statement(self, node: ast.stmt, cell: int) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.bind(node.name, Binding(BindingKind.DEF, node, cell))
            self._globals_in(node, cell)
        elif isinstance(node, ast.ClassDef):
            self.bind(node.name, Binding(BindingKind.CLASS, node, cell))
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.attribute(item.name, Binding(BindingKind.DEF, item, cell))
                    self._globals_in(item, cell)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self.target(target, node.value, node, cell)
        elif isinstance(node, ast.AnnAssign):
            self.target(node.target, node.value, node, cell)
        elif isinstance(node, ast.AugAssign):
            self.target(node.target, None, node, cell)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                self.found.star_imports.append((cell, node))
                return
            for name, qualified in _imported(node):
                self.bind(name, Binding(BindingKind.IMPORT, node, cell, qualified))
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.found.names.pop(target.id, None)
        elif isinstance(node, ast.For | ast.AsyncFor):
            self.target(node.target, None, node, cell)
            self.statements(node.body + node.orelse, cell)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    self.target(item.optional_vars, None, node, cell)
            self.statements(node.body, cell)
        elif isinstance(node, ast.If | ast.While):
            self.statements(node.body + node.orelse, cell)
        elif isinstance(node, ast.Try | ast.TryStar):
            for handler in node.handlers:
                if handler.name:
                    self.bind(handler.name, Binding(BindingKind.OTHER, handler, cell))
                self.statements(handler.body, cell)
            self.statements(node.body + node.orelse + node.finalbody, cell)
        elif isinstance(node, ast.Match):
            for case in node.cases:
                self.statements(case.body, cell)
        self._expression_bindings(node, cell)

    def _expression_bindings(self, node: ast.stmt, cell: int) -> None:
        """Walrus targets at top level, and functions stored under a name in a call's
        keywords or a dict literal (reachable later as attributes or items)."""
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return
        for item in ast.walk(node):
            if isinstance(item, ast.NamedExpr):
                self.bind(item.target.id, Binding(BindingKind.VALUE, item.value, cell))
            elif isinstance(item, ast.Call):
                for keyword in item.keywords:
                    if keyword.arg:
                        self.attribute(keyword.arg, Binding(BindingKind.VALUE, keyword.value,
                                                            cell))
            elif isinstance(item, ast.Dict):
                for key, value in zip(item.keys, item.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        self.attribute(key.value, Binding(BindingKind.VALUE, value, cell))

    def _globals_in(self, function: ast.AST, cell: int) -> None:
        for item in ast.walk(function):
            if isinstance(item, ast.Global):
                for name in item.names:
                    self.found.global_rebinds.setdefault(name, (cell, item))


def collect_bindings(source: NotebookSource) -> Bindings:
    collector = _Collector()
    for cell in source.cells:
        collector.statements(cell.tree.body, cell.index)
    return collector.found
