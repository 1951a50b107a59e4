# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stress suites (issue 10): fault matrix, bad input, secrets, concurrency.

``matrix`` (session fixture) collects the fault matrix's cells as the tests find them; the table is
printed at the end of the run by pytest_terminal_summary, whatever the outcome of the tests.
"""

import pytest


class Matrix:
    """Cells of the fault matrix: (fault row, operation column) -> short text."""

    def __init__(self):
        self.rows = []     # fault labels, in the order first seen
        self.columns = []  # operation labels, in the order first seen
        self.cells = {}
        self.notes = []

    def note(self, text):
        self.notes.append(text)

    def add(self, row, column, text):
        if row not in self.rows:
            self.rows.append(row)
        if column not in self.columns:
            self.columns.append(column)
        self.cells[(row, column)] = text

    def lines(self):
        if not self.cells:
            return []
        head = ["fault \\ operation"] + self.columns
        body = [[row] + [self.cells.get((row, col), "-") for col in self.columns] for row in self.rows]
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]

        def fmt(cells):
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
        return [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt(r) for r in body]

    def dump(self):
        """The cells and notes as plain data (what an xdist worker sends to the controller)."""
        return {"cells": [[row, column, text] for (row, column), text in self.cells.items()], "notes": self.notes}

    def merge(self, dumped):
        for row, column, text in dumped["cells"]:
            self.add(row, column, text)
        self.notes += [n for n in dumped["notes"] if n not in self.notes]


_MATRIX = Matrix()


@pytest.fixture(scope="session")
def matrix():
    return _MATRIX


def report(terminalreporter, matrix):
    """Print the table of `matrix` (nothing when it has no cell)."""
    lines = matrix.lines()
    if not lines:
        return
    terminalreporter.section("fault matrix (kaminario.k2, issue 10)")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(
        "ok = converged; FAILED = clean failure (message checked); Nw = writes the case sent (journal); "
        "Nf = requests that met the fault; every cell also passed the journal checks (no duplicate POST, no "
        "DELETE not asked for, no transition repeated once its outcome was known, no write in check mode)")
    for text in matrix.notes:
        terminalreporter.write_line(text)


def pytest_terminal_summary(terminalreporter):
    report(terminalreporter, _MATRIX)


def pytest_sessionfinish(session):
    # An xdist worker: hand the cells it found to the controller (tests/integration/conftest.py prints them).
    output = getattr(session.config, "workeroutput", None)
    if output is not None and _MATRIX.cells:
        output["k2_fault_matrix"] = _MATRIX.dump()
