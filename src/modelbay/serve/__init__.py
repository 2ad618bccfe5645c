"""The HTTP server, generated from the task registry."""
