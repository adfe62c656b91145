"""The steps of the Composer pipelines in ``composer_flows/`` (the paper's Figure 1, pipelines 1
and 2): ``prepare``, ``features``, ``train``, ``validate``, ``serve`` and their shared numpy
helper ``tabular``; ``push`` (a model version preloaded to devices, pipeline 4). Deployed as
zips (each file plus ``tabular.py``), not imported as modules of this package."""
