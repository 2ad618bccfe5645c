"""Template of a capability: copy this folder to add one (docs/adding-a-capability.md walks through it).

Keyword tagging: label a text by the keyword lists its model names. The registry skips folders
whose name starts with "_", so this one never registers; tests/unit/test_capability_template.py
copies it under a real name and checks that the copy is found and passes the conformance checks.
"""

from . import task  # noqa: F401 - registers the task
