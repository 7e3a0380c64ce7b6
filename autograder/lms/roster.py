"""Who handed in what: a roster, and the submission names LMS exports use.

The roster is a CSV with Canvas's gradebook columns (``Student, ID, SIS User ID,
SIS Login ID, Section``, optionally ``Email``): a gradebook exported from Canvas works as
it is. Submission names are matched to students in this order:

* Canvas's submission download: ``lastfirst_12345_67890_original.ipynb`` and
  ``lastfirst_LATE_12345_67890_original.ipynb`` (12345 is the Canvas user ID), and the
  ``lastfirst_12345`` folder grade-batch makes of each student's files;
* Gradescope's export: ``submission_<n>/`` folders with ``submission_metadata.yml``
  naming each one's submitters (matched on email, then SIS user ID);
* a name equal to a student's SIS login, SIS user ID, Canvas ID or email.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

CANVAS_EXPORT_NAME = re.compile(r"^[^_]+_(?:(?i:late)_)?(?P<user>\d+)_(?P<submission>\d+)(?:_|$)")
GRADESCOPE_FOLDER = re.compile(r"^submission_\d+$")
# grade-batch's folder (and result file) for a Canvas student: ``<login>_<user id>``.
CANVAS_STUDENT_FOLDER = re.compile(r"^[^_]+_(?P<user>\d+)$")
ROSTER_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass(frozen=True)
class Student:
    name: str
    canvas_id: str
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""


class RosterError(ValueError):
    pass


@dataclass
class Roster:
    students: list[Student]
    # Gradescope export: folder name → submitters' emails and SIDs.
    gradescope_submitters: dict[str, list[dict[str, str]]]

    @classmethod
    def read(cls, path: Path, gradescope_metadata: Path | None = None) -> Roster:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        missing = [c for c in ("Student", "ID") if rows and c not in rows[0]]
        if missing or not rows:
            raise RosterError(f"{path}: a roster needs the columns {', '.join(ROSTER_COLUMNS)} "
                              "(a Canvas gradebook export has them)")
        students = [
            Student(name=row["Student"].strip(), canvas_id=row["ID"].strip(),
                    sis_user_id=(row.get("SIS User ID") or "").strip(),
                    sis_login_id=(row.get("SIS Login ID") or "").strip(),
                    section=(row.get("Section") or "").strip(),
                    email=(row.get("Email") or "").strip())
            for row in rows if (row.get("ID") or "").strip().isdigit()  # skips Points Possible
        ]
        submitters = _gradescope_submitters(gradescope_metadata) if gradescope_metadata else {}
        return cls(students, submitters)

    def find(self, submission_name: str) -> Student | None:
        """The student who handed in ``submission_name`` (a file or folder name)."""
        name = PurePosixPath(submission_name.replace("\\", "/")).parts[0] \
            if "/" in submission_name or "\\" in submission_name else submission_name
        match = CANVAS_EXPORT_NAME.match(name)
        if match:
            return self._by("canvas_id", match.group("user"))
        folder = name.removesuffix(".json")
        if GRADESCOPE_FOLDER.match(folder) and folder in self.gradescope_submitters:
            for submitter in self.gradescope_submitters[folder]:
                found = self._by("email", submitter.get("email", "")) or \
                    self._by("sis_user_id", submitter.get("sid", ""))
                if found:
                    return found
            return None
        student_folder = CANVAS_STUDENT_FOLDER.match(folder)
        if student_folder and not GRADESCOPE_FOLDER.match(folder):
            found = self._by("canvas_id", student_folder.group("user"))
            if found:
                return found
        stem = PurePosixPath(name).stem if "." in name else name
        for attribute in ("sis_login_id", "sis_user_id", "canvas_id", "email"):
            found = self._by(attribute, stem)
            if found:
                return found
        return None

    def _by(self, attribute: str, value: str) -> Student | None:
        if not value:
            return None
        hits = [s for s in self.students if getattr(s, attribute).lower() == value.lower()]
        return hits[0] if len(hits) == 1 else None


def _gradescope_submitters(path: Path) -> dict[str, list[dict[str, str]]]:
    """``submission_metadata.yml`` from a Gradescope export (Ruby-symbol keys)."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: dict[str, list[dict[str, str]]] = {}
    for folder, entry in (data.items() if isinstance(data, dict) else []):
        people: Any = entry.get(":submitters", entry.get("submitters")) \
            if isinstance(entry, dict) else None
        found[str(folder)] = [
            {str(k).lstrip(":"): str(v) for k, v in person.items()}
            for person in (people if isinstance(people, list) else [])
            if isinstance(person, dict)
        ]
    return found
