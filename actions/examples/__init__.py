"""edgewhisk's example actions, shipped in the wheel so that ``edgewhisk demo`` runs from an
installed package as from a checkout.

Each example is a folder of action files (``personal_assistant``), read as files through
``importlib.resources`` and deployed as zips; they are not imported as modules of this package
(an action imports its sibling helper, ``glucose``, as a top-level module, as its zip does).
"""
