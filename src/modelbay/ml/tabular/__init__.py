"""What the table capabilities (tabular classification/regression, risk scoring) share: LightGBM boosting
(``boosting``), probability calibration (``calibrate``) and validation scores (``scores``).

Reading and encoding the tables themselves is ``modelbay.data.columns`` and ``modelbay.data.column_codes``.
"""
