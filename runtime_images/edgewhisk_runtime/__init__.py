"""edgewhisk's OpenWhisk action runtime: the proxy that serves POST /init and POST /run.

Components: :mod:`.server` (the proxy), :mod:`.process` and :mod:`.launcher` (the action
process on either side of its pipes), :mod:`.archive` (safe zip extraction),
:mod:`.middleware` (the /run pipeline), :mod:`.artifacts` (Resolver and Sink),
:mod:`.local` (run a proxy as a local process), :mod:`.cli` (``edgewhisk runtime``).

Deliberately empty of imports: the action process imports this package before the action,
so nothing heavy may load here.
"""
