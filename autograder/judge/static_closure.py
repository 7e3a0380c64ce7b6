"""Static evidence for the vectorization verdict: every piece of code a probed function can
run, read from the notebook's source, and the first Python-level loop in it.

Starting from the function's last binding (see static_bindings.py), the scan follows
aliases, lambdas, decorators, helpers called by name, methods and functions reached as
attributes of the notebook's own objects, and functions passed as arguments. In that
closure it looks for loops (``for``, ``while``, comprehensions), calls that loop in Python
(``map``, builtin ``sum``/``sorted``/``min``/``max`` over an array, ``np.vectorize``,
``np.frompyfunc``, ``np.apply_along_axis``, ``np.fromiter``, ``functools.reduce``,
``itertools``) under any alias, and recursion. Code whose effect the judge cannot read
(``exec``, ``eval``, ``getattr`` on strings, ``globals()``, a module the notebook wrote
and imported, stack inspection, patching a library) makes the verdict "cannot be
verified". The scan never runs student code.
"""

from __future__ import annotations

import ast
import builtins
import enum
from dataclasses import dataclass

from autograder.judge.source import NotebookSource
from autograder.judge.static_bindings import Binding, BindingKind, Bindings, collect_bindings


class FindingKind(enum.Enum):
    LOOP = "loop"
    UNVERIFIABLE = "unverifiable"
    MISSING = "missing"
    UNREAD = "unread"  # some cells were too large to read; ``what`` says which


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    what: str  # "a for loop", "`np.vectorize`", "`exec`"
    cell: int | None = None  # notebook cell index
    line: int | None = None  # line in that cell
    text: str = ""  # the line, for the message
    via: tuple[str, ...] = ()  # the chain of notebook functions that leads there

    def location(self) -> str:
        if self.cell is None or self.line is None:
            return ""
        quoted = f": `{self.text}`" if self.text else ""
        return f"line {self.line} of cell {self.cell + 1}{quoted}"


# Modules a vectorized answer may use; anything else is code the judge cannot read.
ALLOWED_MODULES = {"numpy", "math", "cmath", "operator", "functools", "typing", "numbers",
                   "scipy", "sklearn", "pandas", "__future__", "warnings", "itertools",
                   "statistics", "types", "dataclasses", "collections", "enum", "abc"}
# Library functions that call a Python function once per element or row.
LOOPING_QUALIFIED = {"numpy.vectorize", "numpy.frompyfunc", "numpy.apply_along_axis",
                     "numpy.apply_over_axes", "numpy.fromiter",
                     "functools.reduce", "numpy.nditer", "numpy.ndindex", "numpy.ndenumerate"}
LOOPING_MODULES = ("itertools", "statistics")  # everything in them loops in Python
# Attribute names that loop whatever they are called on (pandas' apply, a vectorize alias).
LOOPING_ATTRIBUTES = {"vectorize", "frompyfunc", "apply_along_axis", "apply_over_axes",
                      "fromiter", "apply", "applymap", "nditer", "ndenumerate"}
# Builtins that iterate over their argument in Python.
LOOPING_BUILTINS = {"map", "filter", "sum", "sorted", "min", "max", "any", "all", "zip",
                    "enumerate", "reversed", "iter", "next"}
# Builtins that run or reach code the judge cannot read.
UNVERIFIABLE_BUILTINS = {"exec", "eval", "compile", "getattr", "setattr", "delattr",
                         "globals", "locals", "vars", "__import__", "breakpoint", "open",
                         "get_ipython"}
# Names of these, anywhere in the notebook, can rebind the probed function unseen.
NOTEBOOK_WIDE_UNVERIFIABLE = {"exec", "eval", "compile", "globals", "locals", "vars",
                              "__import__", "setattr", "delattr", "get_ipython", "importlib"}
# Magics that run code the judge has not read (%run script.py, %load, …).
CODE_RUNNING_MAGICS = {"run", "load", "loadpy", "rerun", "recall", "macro", "store",
                       "autoreload", "aimport", "reset", "xdel", "load_ext"}
# Libraries whose functions a vectorized answer calls: assigning to their attributes
# (``np.sum = my_loop``) changes what clean-looking code runs.
PATCHABLE_MODULES = {"numpy", "math", "builtins", "functools", "operator", "sys", "time",
                     "inspect", "autograder", "scipy"}
_BUILTIN_NAMES = frozenset(dir(builtins))
SAFE_DUNDERS = {"__name__", "__doc__", "__init__", "__call__"}


class _Stop(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.what)
        self.finding = finding


def _qualified_parts(node: ast.expr) -> tuple[str, list[str]] | None:
    """``np.linalg.norm`` → ("np", ["linalg", "norm"])."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    return (node.id, parts) if isinstance(node, ast.Name) else None


def _assigned_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names local to a function: its parameters and what its own body binds."""
    args = function.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared_global: set[str] = set()
    body = function.body if isinstance(function.body, list) else [function.body]
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared_global |= set(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue  # a nested scope
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared_global


def _display_locals(function: ast.AST) -> frozenset[str]:
    """Local names bound exactly once, by ``name = [...]`` or ``name = (...)``."""
    displays: set[str] = set()
    stores: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Tuple | ast.List):
            displays.add(node.targets[0].id)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            stores[node.id] = stores.get(node.id, 0) + 1
    return frozenset(n for n in displays if stores.get(n) == 1)


@dataclass(frozen=True)
class _Scope:
    locals: frozenset[str]
    imports: tuple[tuple[str, str], ...]  # imports made inside enclosing functions
    cell: int
    via: tuple[str, ...]
    allow_iteration_loop: str | None = None  # parameter name of the allowed outer loop
    local_defs: tuple[tuple[str, int], ...] = ()  # nested functions by name, as node ids
    fixed_locals: frozenset[str] = frozenset()  # locals only ever bound to a list/tuple display


class _Scanner:
    def __init__(self, source: NotebookSource, bindings: Bindings) -> None:
        self.source = source
        self.bindings = bindings
        self.done: set[int] = set()  # ids of bindings' nodes already scanned
        self.active: list[int] = []  # ids of function nodes on the current path
        self.first_loop: Finding | None = None

    # -- findings ---------------------------------------------------------------------------
    def stop(self, kind: FindingKind, what: str, node: ast.AST | None, scope: _Scope) -> None:
        """Record a finding. Code the judge cannot read ends the scan (it outranks a loop:
        a harness check may sit next to a loop); the first loop is kept and the scan goes
        on looking for such code."""
        line = getattr(node, "lineno", None) if node is not None else None
        text = ""
        cell = next((c for c in self.source.cells if c.index == scope.cell), None)
        if cell is not None and isinstance(line, int) and 0 < line <= len(cell.lines):
            text = cell.lines[line - 1].strip()
            text = text if len(text) <= 80 else text[:77] + "…"
        finding = Finding(kind, what, scope.cell, line, text, scope.via)
        if kind is FindingKind.LOOP:
            self.first_loop = self.first_loop or finding
            return
        raise _Stop(finding)

    # -- bindings ---------------------------------------------------------------------------
    def binding(self, name: str, binding: Binding, via: tuple[str, ...], *, called: bool,
                site: ast.AST | None = None, site_scope: _Scope | None = None,
                iteration_param: int | None = None) -> None:
        scope = _Scope(frozenset(), (), binding.cell, via)
        if name in self.bindings.global_rebinds:
            cell, statement = self.bindings.global_rebinds[name]
            self.stop(FindingKind.UNVERIFIABLE, f"`{name}` is rebound by a `global` "
                      "statement inside a function", statement,
                      _Scope(frozenset(), (), cell, via))
        if binding.kind is BindingKind.IMPORT:
            self.imported(binding.qualified, site or binding.node, site_scope or scope)
            return
        if binding.kind is BindingKind.OTHER:
            self.stop(FindingKind.UNVERIFIABLE, f"`{name}` is bound in a way the grader "
                      "cannot follow", binding.node, scope)
        if binding.kind is BindingKind.VALUE and not called and not isinstance(
                binding.node, ast.Lambda | ast.Name | ast.Attribute):
            return  # data, such as a weight array; it is not run when read
        key = id(binding.node)
        if called and key in self.active and site is not None and site_scope is not None:
            self.stop(FindingKind.LOOP, f"recursion (`{name}` calls itself again)", site,
                      site_scope)
        if key in self.done:
            return
        self.done.add(key)
        self.active.append(key)
        try:
            if binding.kind is BindingKind.DEF:
                assert isinstance(binding.node, ast.FunctionDef | ast.AsyncFunctionDef)
                self.function(binding.node, scope, iteration_param=iteration_param)
            elif binding.kind is BindingKind.CLASS:
                self.visit(binding.node, scope)
            else:
                self.callee(binding.node, scope) if called else self.visit(binding.node, scope)
        finally:
            self.active.pop()

    def imported(self, qualified: str, node: ast.AST, scope: _Scope) -> None:
        top = qualified.lstrip(".").split(".")[0]
        if qualified in LOOPING_QUALIFIED or top in LOOPING_MODULES:
            self.stop(FindingKind.LOOP, f"`{qualified}`, which loops in Python", node, scope)
        if qualified.startswith(".") or top not in ALLOWED_MODULES:
            self.stop(FindingKind.UNVERIFIABLE, f"`{qualified}`, imported from a module that "
                      "is not part of the notebook", node, scope)

    def global_name(self, name: str, node: ast.AST, scope: _Scope, *, called: bool) -> None:
        imported = dict(scope.imports).get(name)
        if imported is not None:
            self.imported(imported, node, scope)
            return
        binding = self.bindings.names.get(name)
        if binding is not None:
            self.binding(name, binding, (*scope.via, name) if called else scope.via,
                         called=called, site=node, site_scope=scope)
        elif name in LOOPING_BUILTINS:
            self.stop(FindingKind.LOOP, f"the builtin `{name}`, which loops in Python", node,
                      scope)
        elif name in UNVERIFIABLE_BUILTINS:
            self.stop(FindingKind.UNVERIFIABLE, f"`{name}`", node, scope)
        elif called and name not in _BUILTIN_NAMES:
            self.stop(FindingKind.UNVERIFIABLE, f"`{name}`, which no cell the grader can read "
                      "defines", node, scope)

    # -- code -------------------------------------------------------------------------------
    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
                 outer: _Scope, *, iteration_param: int | None = None) -> None:
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.callee(decorator, outer)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default, outer)
        imports = tuple((a.asname or a.name.split(".")[0],
                         a.name if isinstance(item, ast.Import) else
                         f"{'.' * item.level}{item.module or ''}.{a.name}")
                        for item in ast.walk(node) if isinstance(item, ast.Import | ast.ImportFrom)
                        for a in item.names)
        allowed = None
        if iteration_param is not None:
            params = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
            allowed = params[iteration_param] if iteration_param < len(params) else None
        body = node.body if isinstance(node.body, list) else [node.body]
        nested = tuple((item.name, id(item)) for item in ast.walk(node)
                       if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                       and item is not node)
        scope = _Scope(outer.locals | _assigned_names(node), outer.imports + imports,
                       outer.cell, outer.via, allowed, outer.local_defs + nested,
                       _display_locals(node))
        self.active.append(id(node))
        try:
            for statement in body:
                self.visit(statement, scope)
        finally:
            self.active.pop()

    def callee(self, node: ast.AST, scope: _Scope) -> None:
        """An expression whose value is called: a name is followed as a function."""
        if isinstance(node, ast.Name):
            if node.id not in scope.locals:
                self.global_name(node.id, node, scope, called=True)
            elif any(name == node.id and key in self.active for name, key in scope.local_defs):
                self.stop(FindingKind.LOOP, f"recursion (`{node.id}` calls itself again)",
                          node, scope)
        elif isinstance(node, ast.Attribute):
            self.attribute(node, scope, called=True)
        elif isinstance(node, ast.Subscript):
            self.callee(node.value, scope)
            self.visit(node.slice, scope)
        elif isinstance(node, ast.Call):
            self.call(node, scope)
        else:
            self.visit(node, scope)

    def attribute(self, node: ast.Attribute, scope: _Scope, *, called: bool) -> None:
        parts = _qualified_parts(node)
        if parts is not None and parts[0] not in scope.locals:
            base, rest = parts
            module = dict(scope.imports).get(base)
            binding = self.bindings.names.get(base)
            if module is None and binding is not None and binding.kind is BindingKind.IMPORT:
                module = binding.qualified
            if module is not None:
                self.imported(".".join([module, *rest]), node, scope)
                return
        if node.attr.startswith("__") and node.attr.endswith("__") \
                and node.attr not in SAFE_DUNDERS:
            self.stop(FindingKind.UNVERIFIABLE, f"`{node.attr}`", node, scope)
        if node.attr in LOOPING_ATTRIBUTES:
            self.stop(FindingKind.LOOP, f"`.{node.attr}(...)`, which loops in Python", node,
                      scope)
        if called:
            for candidate in self.bindings.attributes.get(node.attr, []):
                self.binding(node.attr, candidate, (*scope.via, node.attr), called=True,
                             site=node, site_scope=scope)
            self.callee(node.value, scope)
        else:
            self.visit(node.value, scope)

    def call(self, node: ast.Call, scope: _Scope) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) and func.id not in scope.locals else None
        plain_args = not any(isinstance(a, ast.Starred) for a in node.args)
        only = node.args[0] if len(node.args) == 1 else None
        # A display of a few terms, or an array's shape: a fixed, short sequence.
        literal = (isinstance(only, ast.Tuple | ast.List)
                   and not any(isinstance(e, ast.Starred) for e in only.elts)) or (
            isinstance(only, ast.Attribute) and only.attr == "shape")
        if name in {"min", "max"} and plain_args and len(node.args) >= 2 \
                and name not in self.bindings.names:
            pass  # min(a, b) compares two values; min(X) loops over X
        elif name in {"sum", "min", "max", "any", "all"} and literal \
                and name not in self.bindings.names:
            pass  # sum((a, b)) adds a fixed number of terms
        else:
            self.callee(func, scope)
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            self.visit(argument, scope)

    def visit(self, node: ast.AST, scope: _Scope) -> None:
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            self.loop(node, scope)
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            self.stop(FindingKind.LOOP, "a comprehension", node, scope)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            self.function(node, scope)
            return
        if isinstance(node, ast.ClassDef):
            for child in ast.iter_child_nodes(node):
                self.visit(child, scope)
            return
        if isinstance(node, ast.Call):
            self.call(node, scope)
            return
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in scope.locals:
                self.global_name(node.id, node, scope, called=False)
            return
        if isinstance(node, ast.Attribute):
            self.attribute(node, scope, called=False)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child, scope)

    def loop(self, node: ast.For | ast.AsyncFor | ast.While, scope: _Scope) -> None:
        param = scope.allow_iteration_loop
        if param is not None and self._over_iterations(node, param):
            inner = _Scope(scope.locals, scope.imports, scope.cell, scope.via,
                           local_defs=scope.local_defs, fixed_locals=scope.fixed_locals)
            for child in ast.iter_child_nodes(node):
                self.visit(child, inner)
            return
        if isinstance(node, ast.For | ast.AsyncFor) and self._fixed(node.iter, scope):
            # A loop over a fixed collection (the layers of a network), not over samples.
            for child in ast.iter_child_nodes(node):
                if child is not node.iter:
                    self.visit(child, scope)
            return
        what = "a while loop" if isinstance(node, ast.While) else "a for loop"
        self.stop(FindingKind.LOOP, what, node, scope)
        for child in ast.iter_child_nodes(node):
            self.visit(child, scope)

    def _fixed(self, node: ast.expr, scope: _Scope) -> bool:
        """An iterable whose length does not depend on the input: a list or tuple display,
        ``range`` of a constant, a name only ever bound to a display, or ``zip``/
        ``enumerate`` of those."""
        if isinstance(node, ast.Tuple | ast.List):
            return not any(isinstance(e, ast.Starred) for e in node.elts)
        if isinstance(node, ast.Name):
            if node.id in scope.locals:
                return node.id in scope.fixed_locals
            binding = self.bindings.names.get(node.id)
            return binding is not None and binding.kind is BindingKind.VALUE \
                and isinstance(binding.node, ast.Tuple | ast.List) \
                and node.id not in self.bindings.global_rebinds
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords \
                and node.func.id not in scope.locals and node.func.id not in self.bindings.names:
            if node.func.id == "range":
                return all(isinstance(a, ast.Constant) and type(a.value) is int
                           for a in node.args)
            if node.func.id == "zip":
                return bool(node.args) and all(self._fixed(a, scope) for a in node.args)
            if node.func.id == "enumerate":
                return len(node.args) == 1 and self._fixed(node.args[0], scope)
        return False

    @staticmethod
    def _over_iterations(node: ast.For | ast.AsyncFor | ast.While, param: str) -> bool:
        """``for _ in range(iterations)`` or ``while ... iterations ...``: the exercise's own
        loop over gradient steps."""
        header = node.test if isinstance(node, ast.While) else node.iter
        if isinstance(node, ast.For | ast.AsyncFor) and not (
                isinstance(header, ast.Call) and isinstance(header.func, ast.Name)
                and header.func.id == "range"):
            return False
        return any(isinstance(n, ast.Name) and n.id == param for n in ast.walk(header))


def _notebook_wide(source: NotebookSource, name: str, bindings: Bindings) -> Finding | None:
    """Constructs anywhere in the notebook that can change what ``name`` runs unseen."""
    for index, text in source.unparsable_text.items():
        if name in text:
            return Finding(FindingKind.UNVERIFIABLE, f"cell {index + 1}, which mentions "
                           f"`{name}` but is not plain Python", index, None)
    modules = {name for name, b in bindings.names.items() if b.kind is BindingKind.IMPORT
               and b.qualified.split(".")[0] in PATCHABLE_MODULES}
    for cell in source.cells:
        for line, magic in cell.magics:
            word = magic.lstrip("%").split(maxsplit=1)[0] if magic.startswith("%") else ""
            if word in CODE_RUNNING_MAGICS:
                return Finding(FindingKind.UNVERIFIABLE, f"the magic `%{word}`", cell.index,
                               line, magic[:80])
        for node in ast.walk(cell.tree):
            what = None
            if isinstance(node, ast.Name) and node.id in NOTEBOOK_WIDE_UNVERIFIABLE:
                what = f"`{node.id}`"
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
                targets = node.targets if isinstance(node, ast.Assign | ast.Delete) \
                    else [node.target]
                for target in targets:
                    parts = _qualified_parts(target) if isinstance(target, ast.Attribute) \
                        else None
                    if parts is not None and parts[0] in modules:
                        what = f"a change to the library `{parts[0]}.{'.'.join(parts[1])}`"
            if what is not None:
                line_number = getattr(node, "lineno", 0)
                text = cell.lines[line_number - 1].strip()[:80] \
                    if 0 < line_number <= len(cell.lines) else ""
                return Finding(FindingKind.UNVERIFIABLE, what, cell.index, line_number, text)
    return None


def find_python_loop(source: NotebookSource, name: str, *,
                     iteration_param: int | None = None) -> Finding | None:
    """The first Python-level loop, or unverifiable construct, in what ``name`` can run;
    None when its closure is loop-free. ``iteration_param`` is the position of the
    parameter whose ``for _ in range(...)`` loop the exercise allows (gradient descent)."""
    bindings = collect_bindings(source)
    wide = _notebook_wide(source, name, bindings)
    if wide is not None:
        return wide
    binding = bindings.names.get(name)
    if binding is None:
        if bindings.star_imports:
            cell, node = bindings.star_imports[-1]
            return Finding(FindingKind.UNVERIFIABLE, f"`from {node.module} import *`, which "
                           f"may define `{name}`", cell, node.lineno)
        return Finding(FindingKind.MISSING, f"`{name}` is not defined in the notebook")
    scanner = _Scanner(source, bindings)
    target = name
    via: tuple[str, ...] = (name,)
    seen = {name}
    while binding.kind is BindingKind.VALUE and isinstance(binding.node, ast.Name) \
            and binding.node.id in bindings.names and binding.node.id not in seen:
        # ``mse = other``: judge ``other``, with the exercise's allowed loop if any.
        target = binding.node.id
        seen.add(target)
        via = (*via, target)
        binding = bindings.names[target]
    rebound = next((n for n in seen if n in bindings.global_rebinds), None)
    if rebound is not None:
        cell, statement = bindings.global_rebinds[rebound]
        return Finding(FindingKind.UNVERIFIABLE, f"`{rebound}` is rebound by a `global` "
                       "statement inside a function", cell, getattr(statement, "lineno", None))
    try:
        if binding.kind is BindingKind.IMPORT:
            scanner.stop(FindingKind.UNVERIFIABLE, f"`{name}` is imported "
                         f"(`{binding.qualified}`), not written in the notebook", binding.node,
                         _Scope(frozenset(), (), binding.cell, (name,)))
        scanner.global_name(name, binding.node, _Scope(frozenset(), (), binding.cell, ()),
                            called=True) if binding.kind is not BindingKind.DEF else \
            scanner.binding(target, binding, via, called=True,
                            iteration_param=iteration_param)
    except _Stop as stop:
        return stop.finding
    except RecursionError:
        return Finding(FindingKind.UNVERIFIABLE, "code nested too deeply to read")
    return scanner.first_loop
