"""Building blocks the image tasks share: drawing results on pictures (``draw``) and box geometry (``boxes``)."""
