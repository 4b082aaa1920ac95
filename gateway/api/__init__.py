"""The HTTP API: typed dependencies (`deps`), a router per resource (`routes`), wired by `main`."""
