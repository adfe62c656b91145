"""The paper's personal assistant: ``collect``, ``train_base``, ``refine``, ``predict`` and their
shared helper ``glucose`` (files the demo deploys; see the package's docstring)."""
