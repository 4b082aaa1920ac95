"""`lumiere`: the command-line client of the REST API (render, preview, list, show, ...)."""
