"""The jinja2 environment for everything the project generates (templates/ folder)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from autograder.exercises import course_root


@lru_cache(maxsize=4)
def environment(root: Path | None = None) -> jinja2.Environment:
    from autograder.reporters.markdown import markdown_text

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str((root or course_root()) / "templates")),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html.j2"]),
    )
    env.filters["md"] = markdown_text  # student text in Markdown templates
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
