# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sphinx configuration for the vmbus-host documentation.
# Build: scripts/build-docs.sh (sphinx-build -W: warnings are errors);
# the HTML goes to build/docs/html.
project = "vmbus-host"
copyright = "vmbus-host contributors; GPL-2.0-or-later"
author = "vmbus-host contributors"

extensions = []
master_doc = "index"
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build"]
language = "en"

# Debian's python3-sphinx ships alabaster; no network, no extra themes.
html_theme = "alabaster"
html_static_path = []
html_show_sourcelink = False
# Code blocks are shell, XML, YAML, ...: do not guess Python.
highlight_language = "none"
