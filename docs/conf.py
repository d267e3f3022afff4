"""Sphinx configuration of the nstheory documentation site.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (see the README). The course
notebooks (``course/*.md``, MyST-NB text notebooks) are executed during the build; the claims
catalogue is generated from the claim registry by the ``claims_catalogue`` extension.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

project = "nstheory"
author = "the nstheory developers"
copyright = "2026, the nstheory developers"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "claims_catalogue",
    "api_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_ext", "**/.ipynb_checkpoints", "jupyter_execute"]
root_doc = "index"

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False,
                           "ignore-module-all": True}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
suppress_warnings = ["myst.header"]

html_theme = "furo"
html_title = "nstheory"
