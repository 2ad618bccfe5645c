"""The customer-service assistant: grounded, cited answers from a knowledge base (``modelbay.kb``)."""

from . import task  # noqa: F401 - registers the task
