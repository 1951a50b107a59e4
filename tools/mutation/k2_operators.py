# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation operators that cosmic-ray's core set lacks, as a cosmic-ray operator provider ("k2/...").

The core operators change comparisons, boolean operators, numbers and binary operators. These add the
mutations that find missing tests for tables and effects:
  k2/DropEntry        drop one entry of a tuple, list, set or dict display (a field table, a code list)
  k2/ReturnNone       `return <expr>` becomes `return None`
  k2/DeleteStatement  a call, an attribute/item/augmented assignment or a raise becomes `pass`

cosmic-ray finds the provider through the entry point declared in k2_mutation-0.dist-info beside this
file (stevedore reads entry points from every sys.path entry), so tools/mutation must be on PYTHONPATH.
"""

from __future__ import annotations

from cosmic_ray.operators.operator import Example, Operator
from parso.python.tree import Keyword
from parso.python.tree import Operator as OperatorLeaf

_COMPREHENSION = ("comp_for", "sync_comp_for", "old_comp_for")


def _entries(node):
    """The entries of a display node as lists of children (commas left out), or None for a node
    that is not a plain display (a comprehension, a star-unpacking)."""
    if node.type not in ("testlist_comp", "dictorsetmaker"):
        return None
    if any(child.type in _COMPREHENSION for child in node.children):
        return None
    entries, current = [], []
    for child in node.children:
        if child.type == "operator" and child.value == ",":
            entries.append(current)
            current = []
        else:
            current.append(child)
    if current:
        entries.append(current)
    return entries


class DropEntry(Operator):
    """Drop one entry of a tuple, list, set or dict display."""

    def mutation_positions(self, node):
        entries = _entries(node)
        if not entries:
            return
        is_tuple = node.parent is not None and node.parent.children[0].type == "operator" \
            and node.parent.children[0].value == "("
        # "(a)" is not a tuple: a one-entry display only counts with its trailing comma (a tuple).
        if len(entries) == 1 and not (is_tuple and node.children[-1].type == "operator"):
            return
        for entry in entries:
            yield (entry[0].start_pos, entry[-1].end_pos)

    def mutate(self, node, index):
        entries = _entries(node)
        kept = [entry for i, entry in enumerate(entries) if i != index]
        if not kept:
            return None  # "(a,)" -> "()"
        if index == 0:  # the new first entry takes the dropped one's place, spacing included
            kept[0][0].get_first_leaf().prefix = entries[0][0].get_first_leaf().prefix
        children = []
        for i, entry in enumerate(kept):
            if i:
                children.append(OperatorLeaf(",", entry[0].start_pos))
            children.extend(entry)
        opener = node.parent.children[0]
        if len(kept) == 1 and opener.type == "operator" and opener.value == "(":
            children.append(OperatorLeaf(",", kept[0][-1].end_pos))  # stay a tuple
        node.children = children
        for child in children:
            child.parent = node
        return node

    @classmethod
    def examples(cls):
        return (
            Example("x = (1, 2, 3)", "x = (2, 3)"),
            Example("x = (1, 2, 3)", "x = (1, 3)", occurrence=1),
            Example("x = (1, 2)", "x = (1,)", occurrence=1),
            Example("x = ('a',)", "x = ()"),
            Example("x = {'a': 1, 'b': 2}", "x = {'b': 2}"),
            Example("x = [1, 2]", "x = [1]", occurrence=1),
        )


class ReturnNone(Operator):
    """`return <expr>` -> `return None`."""

    def mutation_positions(self, node):
        if node.type == "return_stmt":
            value = node.children[1]
            if not (value.type == "keyword" and value.value == "None"):
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        value = node.children[1]
        leaf = Keyword("None", value.start_pos, prefix=value.get_first_leaf().prefix)
        leaf.parent = node
        node.children[1] = leaf
        return node

    @classmethod
    def examples(cls):
        return (Example("def f():\n    return 1 + x\n", "def f():\n    return None\n"),)


def _deletable(node):
    """A statement whose removal is a meaningful mutant (not one that only raises NameError later)."""
    if node.type == "raise_stmt":
        return True
    if node.type == "expr_stmt":
        operator = node.children[1]
        if operator.type == "operator" and operator.value != "=":  # augmented: x += 1
            return True
        target = node.children[0]
        # self.x = ..., d[k] = ...: the object lives on, the assignment is a real effect.
        return target.type in ("atom_expr", "power") and target.children[-1].type == "trailer"
    if node.type in ("atom_expr", "power"):  # an expression statement that is a call
        last = node.children[-1]
        return last.type == "trailer" and last.children[0].value == "("
    return False


class DeleteStatement(Operator):
    """A call, an attribute/item/augmented assignment or a raise statement -> `pass`."""

    def mutation_positions(self, node):
        if node.type == "simple_stmt" or (node.type in ("expr_stmt", "raise_stmt", "atom_expr", "power")
                                          and node.parent is not None and node.parent.type == "simple_stmt"):
            if node.type != "simple_stmt" and _deletable(node):
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        return Keyword("pass", node.start_pos, prefix=node.get_first_leaf().prefix)

    @classmethod
    def examples(cls):
        return (
            Example("def f(s):\n    s.close()\n", "def f(s):\n    pass\n"),
            Example("def f(s):\n    s.x = 1\n", "def f(s):\n    pass\n"),
            Example("def f(s):\n    s += 1\n", "def f(s):\n    pass\n"),
            Example("def f():\n    raise E()\n", "def f():\n    pass\n"),
        )


_OPERATORS = {cls.__name__: cls for cls in (DropEntry, ReturnNone, DeleteStatement)}


class OperatorProvider:
    """The cosmic-ray provider for the operators above (named "k2/<class name>")."""

    def __iter__(self):
        return iter(_OPERATORS)

    def __getitem__(self, name):
        return _OPERATORS[name]
