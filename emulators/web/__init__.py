"""The Flask side of each request or WebSocket message: the provider base, request context, the per-request
record, journal and fault hooks, the access log."""
