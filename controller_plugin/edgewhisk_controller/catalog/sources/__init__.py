"""The code of the ``/whisk.system`` actions: each module is one action's source, stored as a
``python:3`` action by ``catalog/install.py`` and run like any user's action (never imported
by the controller). They use the standard library only."""
