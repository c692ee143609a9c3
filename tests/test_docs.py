"""The documentation site's sources: every public name has an API page, and the gallery has its examples.

The site itself is built (``sphinx-build -W``, warnings are errors) by ``.ci/run``; these
checks need no Sphinx and name what is missing.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import tem_sim

DOCS = Path(__file__).resolve().parents[1] / "docs"
pytestmark = pytest.mark.skipif(not (DOCS / "conf.py").is_file(), reason="no docs/ beside the tests")


def _autosummary_entries(text: str) -> list[str]:
    """Names listed under the ``.. autosummary::`` directives of an reST text."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
            continue
        if inside:
            if line.strip() == "" or line.strip().startswith(":"):
                continue
            if line.startswith("   "):
                names.append(line.strip())
            else:
                inside = False
    return names


def test_api_reference_lists_every_public_name_once():
    entries = _autosummary_entries((DOCS / "api.rst").read_text())
    missing = sorted(set(tem_sim.__all__) - set(entries))
    assert not missing, f"public names without an API page (add them to docs/api.rst): {missing}"
    assert len(entries) == len(set(entries))
    unknown = [e for e in entries if not hasattr(tem_sim, e) and importlib.util.find_spec(f"tem_sim.{e}") is None]
    assert not unknown, unknown


def test_gallery_examples_present():
    scripts = sorted(p.name for p in (DOCS / "examples").glob("plot_*.py"))
    topics = ["encode_decode", "train_layer", "train_two_layers", "recurrent_raster"]
    assert all(any(t in s for s in scripts) for t in topics), scripts
    for s in scripts:
        head = (DOCS / "examples" / s).read_text().split('"""')[1]
        assert re.search(r"^=+$", head, re.M), f"{s}: its docstring needs a title (sphinx-gallery)"
