"""The versioned API's path prefix.

Each resource router carries it in its own prefix (rather than being included under it): this
FastAPI includes routers lazily and reports a request's route by the router's own template,
which the request metrics label by.
"""

API_PREFIX = "/api/v1"
