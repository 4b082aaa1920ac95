"""One module per resource: projects, media (downloads), events, pipeline, service, pages."""
