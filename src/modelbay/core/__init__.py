"""The contract everything else builds on: tasks, registry, catalog, media, settings.

Imports nothing heavy and nothing from the rest of modelbay.
"""
