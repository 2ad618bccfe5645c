"""Building blocks shared by several capabilities: MLP heads, metrics, splits, model directories, progress.

Below ``tasks/``: imports only ``core`` and third-party libraries, never a capability.
"""
