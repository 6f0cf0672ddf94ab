"""Sphinx extension: bibliography labels that read like the citations (author-year).

The chapters cite author-year (``{cite:p}`shannon1948``` gives "(Shannon, 1948)", ``bibtex_reference_style: author_year``), but pybtex's ``plain`` style labels the
bibliography entries [1], [2], ..., so a reader who follows a citation finds a number that the
text never showed. This extension registers a pybtex formatting style, ``author_year_labels``:
pybtex's ``plain`` entry formatting with

- labels built the way sphinxcontrib-bibtex's author-year citations are: the authors' last
  names ("Shannon"; "Kullback and Leibler"; "Rumelhart et al." from three authors on), falling
  back on the editors, then a comma and the year: ``[Shannon, 1948]``; two works with the same
  label get "a", "b", ... after the year;
- entries sorted by author, then year, then title (an author-year list is looked up by name).

Selected in ``_config.yml`` with ``bibtex_default_style: author_year_labels``; registered under
``sphinx: local_extensions``. ``tests/test_site_html.py`` checks that every entry's label equals
the text of the citations that link to it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx

STYLE_NAME = "author_year_labels"


def _last_names(person) -> str:
    return Text(*person.rich_prelast_names, *person.rich_last_names).render_as("text")


def author_year(entry) -> str:
    """The label of ``entry``: 'Shannon, 1948', 'Kullback and Leibler, 1951', 'A et al., 2020'."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last_names(p) for p in persons]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    year = entry.fields.get("year", "")
    return f"{who}, {year}" if year else who


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year(entry) for entry in sorted_entries]
        count = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if count[label] == 1:
                yield label
            else:
                yield label + chr(ord("a") + seen[label])
                seen[label] += 1


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


def setup(app: Sphinx) -> dict[str, Any]:
    pybtex.plugin.register_plugin(
        "pybtex.style.formatting", STYLE_NAME, AuthorYearStyle
    )
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
