"""The code a section teaches is the code the package holds.

A notebook that defines a class, method or function that ``d2lutil`` exports must define it
statement for statement as the package does. Docstrings, comments, formatting and type hints are
ignored, and ``d2l.X`` in a notebook compares equal to the package's bare ``X``. Methods added with
``@d2l.add_to_class(X)`` are compared with the method of the package's class ``X``.

Each notebook declares what it teaches in its metadata (``metadata.d2lutil.teaches``), so that the
test also fails when a taught definition disappears from a notebook.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import d2lutil

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p
    for p in (ROOT / "chapters").rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
# The d2l.torch aliases (``normal``, ``reshape``, ...) are not taught code: a notebook
# may define its own ``normal`` (the Gaussian density) without it being the package's.
EXPORTED = set(getattr(d2lutil, "__all__", ())) - set(d2lutil.aliases.__all__)
MAGIC = re.compile(r"^(\s*)[%!].*$", re.MULTILINE)


class _Normalize(ast.NodeTransformer):
    """Drop what the comparison ignores: docstrings, annotations, ``d2l.`` prefixes."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "d2l":
            return ast.copy_location(ast.Name(id=node.attr, ctx=node.ctx), node)
        return node

    def _strip_docstring(self, node):
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
        ):
            if isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.decorator_list = [
            d for d in node.decorator_list if not _is_add_to_class(d)
        ]
        node.returns = None
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            arg.annotation = None
        for arg in (node.args.vararg, node.args.kwarg):
            if arg is not None:
                arg.annotation = None
        self._strip_docstring(node)
        self.generic_visit(node)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        if node.value is None:
            return ast.Pass()
        return ast.copy_location(
            ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno),
            node,
        )

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._strip_docstring(node)
        self.generic_visit(node)
        return node


def _is_add_to_class(decorator: ast.expr) -> bool:
    if not isinstance(decorator, ast.Call):
        return False
    func = decorator.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "add_to_class"


def _add_to_class_target(node: ast.FunctionDef) -> str | None:
    for decorator in node.decorator_list:
        if _is_add_to_class(decorator) and decorator.args:
            target = decorator.args[0]
            if isinstance(target, ast.Attribute):
                return target.attr
            if isinstance(target, ast.Name):
                return target.id
    return None


def canonical(node: ast.AST) -> str:
    node = _Normalize().visit(ast.parse(ast.unparse(node)).body[0])
    return ast.dump(node, annotate_fields=False, include_attributes=False)


@dataclass
class Definition:
    name: str  # "Class", "Class.method" or "function"
    node: ast.AST
    cell: int


def notebook_definitions(path: Path) -> list[Definition]:
    """Top-level definitions of package names in a notebook, in order."""
    found: list[Definition] = []
    nb = json.loads(path.read_text(encoding="utf-8"))
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for index, cell in enumerate(code_cells, 1):
        src = (
            "".join(cell["source"])
            if isinstance(cell["source"], list)
            else cell["source"]
        )
        tree = ast.parse(MAGIC.sub(r"\1pass", src))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name in EXPORTED:
                found.append(Definition(node.name, node, index))
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        found.append(
                            Definition(f"{node.name}.{item.name}", item, index)
                        )
            elif isinstance(node, ast.FunctionDef):
                target = _add_to_class_target(node)
                if target is not None:
                    if target in EXPORTED:
                        found.append(Definition(f"{target}.{node.name}", node, index))
                elif node.name in EXPORTED:
                    found.append(Definition(node.name, node, index))
    return found


def package_node(name: str) -> ast.AST | None:
    """The package's definition of ``Class``, ``Class.method`` or ``function``."""
    owner, _, member = name.partition(".")
    obj = getattr(d2lutil, owner)
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
    if not member:
        return tree
    for item in tree.body:
        if (
            isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            and item.name == member
        ):
            return item
    return None


def class_header(node: ast.ClassDef) -> str:
    """The class without its methods: name, bases and class attributes (``x = 1``)."""
    attributes = [
        item
        for item in node.body
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not (isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant))
    ]
    shell = ast.ClassDef(
        name=node.name,
        bases=node.bases,
        keywords=node.keywords,
        body=attributes or [ast.Pass()],
        decorator_list=[],
        type_params=[],
    )
    return canonical(shell)


def test_the_compared_names_are_the_package_s_own():
    # Taught classes are compared, the d2l.torch aliases (normal, reshape...) are not.
    assert REQUIRED <= EXPORTED
    assert {"normal", "reshape", "torch", "np"}.isdisjoint(EXPORTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_taught_code_matches_package(path: Path):
    problems = []
    for definition in notebook_definitions(path):
        ours = package_node(definition.name)
        if ours is None:
            problems.append(
                f"{definition.name} (code cell {definition.cell}): the package has no such method"
            )
            continue
        if isinstance(definition.node, ast.ClassDef):
            if class_header(definition.node) != class_header(ours):
                problems.append(
                    f"{definition.name} (code cell {definition.cell}): base classes or class "
                    "attributes differ from the package"
                )
            continue
        if canonical(definition.node) != canonical(ours):
            problems.append(
                f"{definition.name} (code cell {definition.cell}) differs from the package:\n"
                f"--- notebook\n{ast.unparse(_Normalize().visit(ast.parse(ast.unparse(definition.node)).body[0]))}\n"
                f"--- d2lutil\n{ast.unparse(_Normalize().visit(ast.parse(ast.unparse(ours)).body[0]))}"
            )
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_declared_teachings_are_defined(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    declared = nb["metadata"].get("d2lutil", {}).get("teaches", [])
    defined = {d.name for d in notebook_definitions(path)}
    missing = [name for name in declared if name not in defined]
    assert not missing, (
        f"{path.name} declares it teaches {missing} but defines no such code"
    )
    unknown = [name for name in declared if name.split(".")[0] not in EXPORTED]
    assert not unknown, f"{path.name} declares names d2lutil does not export: {unknown}"


def test_every_taught_definition_is_declared():
    """A notebook that defines package code says so, so the coverage list below is honest."""
    undeclared = []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        declared = set(nb["metadata"].get("d2lutil", {}).get("teaches", []))
        for definition in notebook_definitions(path):
            owner = definition.name.split(".")[0]
            if definition.name not in declared and owner not in declared:
                undeclared.append(f"{path.name}: {definition.name}")
    assert not undeclared, (
        f"definitions missing from metadata.d2lutil.teaches: {undeclared}"
    )


# The sections of chapters 3-5 teach these package classes and functions; each must be taught
# (and so compared) somewhere.
REQUIRED = {
    "HyperParameters",
    "Module",
    "DataModule",
    "Trainer",
    "SyntheticRegressionData",
    "LinearRegressionScratch",
    "SGD",
    "LinearRegression",
    "Classifier",
    "SoftmaxRegression",
    "MLPScratch",
    "MLP",
}


def test_required_classes_are_taught():
    taught = set()
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        taught |= {
            name.split(".")[0]
            for name in nb["metadata"].get("d2lutil", {}).get("teaches", [])
        }
    missing = sorted(REQUIRED - taught)
    assert not missing, f"package classes no section teaches: {missing}"


def _first(src: str) -> ast.AST:
    return ast.parse(textwrap.dedent(src)).body[0]


def test_comparison_ignores_docstrings_hints_comments_and_prefix():
    package = _first(
        """
        def fit_epoch(self, batch: list) -> None:
            \"\"\"Docstring.\"\"\"
            x: int = 1  # comment
            return Module.step(self, batch, x)
        """
    )
    notebook = _first(
        """
        @d2l.add_to_class(d2l.Trainer)
        def fit_epoch(self, batch):
            x = 1
            return d2l.Module.step(self, batch, x)
        """
    )
    assert canonical(package) == canonical(notebook)


def test_comparison_sees_a_changed_statement():
    package = _first(
        "def loss(self, y_hat, y):\n    return ((y_hat - y) ** 2 / 2).mean()\n"
    )
    notebook = _first(
        "def loss(self, y_hat, y):\n    return ((y_hat - y) ** 2).mean()\n"
    )
    assert canonical(package) != canonical(notebook)


def test_notebook_definitions_finds_methods(tmp_path: Path):
    name = sorted(n for n in EXPORTED if inspect.isclass(getattr(d2lutil, n)))[0]
    cells = [
        {"cell_type": "code", "metadata": {}, "source": "%pip install nothing\n"},
        {
            "cell_type": "code",
            "metadata": {},
            "source": f"@d2l.add_to_class(d2l.{name})\ndef shiny(self):\n    pass\n",
        },
    ]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}}), encoding="utf-8")
    assert [d.name for d in notebook_definitions(path)] == [f"{name}.shiny"]
    assert package_node(f"{name}.shiny") is None


# Package methods of taught classes that no notebook shows, by name. Section 3.2 lists them
# ("What this section leaves out"); the test fails when a method is added to a taught class
# without being shown or listed here, and when a listed one is shown after all.
UNSHOWN = {
    "HyperParameters": {"__repr__"},
    "Module": {"apply_init", "__setattr__", "__getattr__"},
    "Trainer": {"clip_gradients", "check_fit", "check_setup", "check_loss"},
    "DataModule": {"root"},
}
SECTION_3_2 = ROOT / "chapters/03_linear_regression/3_2_object_oriented_design.ipynb"


def _shown_methods() -> tuple[set[str], dict[str, set[str]]]:
    classes: set[str] = set()
    shown: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for definition in notebook_definitions(path):
            owner, _, member = definition.name.partition(".")
            if member:
                shown.setdefault(owner, set()).add(member)
            elif isinstance(definition.node, ast.ClassDef):
                classes.add(owner)
    return classes | set(shown), shown


def test_methods_no_notebook_shows_are_named():
    taught, shown = _shown_methods()
    unlisted = {}
    for name in sorted(taught):
        obj = getattr(d2lutil, name)
        if not inspect.isclass(obj):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
        methods = {i.name for i in tree.body if isinstance(i, ast.FunctionDef)}
        hidden = methods - shown.get(name, set())
        if hidden != UNSHOWN.get(name, set()):
            unlisted[name] = sorted(hidden)
    assert not unlisted, f"unshown methods differ from UNSHOWN: {unlisted}"


def test_section_3_2_names_what_it_leaves_out():
    text = SECTION_3_2.read_text(encoding="utf-8")
    missing = [
        f"{owner}.{method}"
        for owner, methods in UNSHOWN.items()
        for method in methods
        if f"`{owner}.{method}" not in text
    ]
    assert not missing, (
        f"3.2 does not name these package methods it leaves out: {missing}"
    )


def test_class_attributes_are_compared():
    package = _first(
        "class Board(Base):\n    interval = 0.5\n\n    def f(self):\n        pass\n"
    )
    same = _first('class Board(d2l.Base):\n    """Doc."""\n\n    interval = 0.5\n')
    other = _first("class Board(Base):\n    interval = 0.1\n")
    assert class_header(package) == class_header(same)
    assert class_header(package) != class_header(other)
