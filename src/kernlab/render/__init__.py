"""Renderers: turn plain result data into terminal text or JSON. They never read the system."""
