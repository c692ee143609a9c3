"""Sphinx configuration of tem_sim's documentation site.

Build (from the repository root): ``pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html``.
The API reference is generated from the numpydoc docstrings (autosummary), the
gallery by running the scripts of ``docs/examples`` (sphinx-gallery) with the
non-interactive matplotlib backend.
"""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")      # the examples are small: one thread each
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import tem_sim  # noqa: E402  (the installed package: an editable install of this tree)


project = "tem_sim"
author = "the tem_sim developers"
copyright = "2026, the tem_sim developers"
release = version = tem_sim.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "examples/README.rst"]
templates_path = ["_templates"]
html_theme = "alabaster"
html_static_path: list[str] = []
html_theme_options = {"description": "Exact event-driven simulation and spike-time training of "
                                     "integrate-and-fire networks", "page_width": "1100px"}

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": False}
autodoc_typehints = "none"                  # the numpydoc sections say the types
numpydoc_show_class_members = False         # autosummary lists the members; no stub tables twice
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
}
