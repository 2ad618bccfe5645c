"""Building blocks shared by several capabilities, one of each: the MLP and its training loop (``mlp``),
calibration (``calibration``: the ECE, the temperature fit), the train/validation splitter (``splits``),
the data fingerprint (``fingerprint``), the atomic model-directory and card writer (``model_dir``),
metrics, progress.

Below ``tasks/``: imports only ``core`` and third-party libraries, never a capability.
"""
