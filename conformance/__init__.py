"""polyro's conformance suite: one model catalog, every backend, identical posteriors.

``python -m conformance`` runs the checks and writes ``conformance/report/report.{md,json}``;
``pytest conformance`` runs the fast subset (part of ``make test``).
"""
