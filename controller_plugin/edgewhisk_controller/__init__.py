"""The edgewhisk controller: where users, tools and edge invokers meet the platform.

It speaks OpenWhisk's REST API (aiohttp), compiles action annotations into placement
constraints, places activations on local or edge invokers, and keeps its state in a
``stores`` backend (SQLite embedded by default, CouchDB in production). Nothing imports
this package: it sits at the top of the dependency arrows (see docs/architecture.md).
"""
