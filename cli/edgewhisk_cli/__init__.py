"""The ``edgewhisk`` command line.

Every component owns its subcommands in a ``cli`` module with two functions,
``add_arguments(parser)`` and ``run(args) -> int``. ``main`` lists them in one explicit
table and imports only the one asked for, so ``edgewhisk action annotation`` never pays
for aiohttp and ``edgewhisk runtime serve`` never pays for the tooling.
"""
