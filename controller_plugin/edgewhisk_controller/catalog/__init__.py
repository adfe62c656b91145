"""The ``/whisk.system`` catalog: the system namespace's shared packages, installed at start.

``install`` writes the namespace ``whisk.system`` and its published packages ``utils``
(``echo``, ``cat``, ``head``, ``sort``, ``split``, ``smash``, ``date``, ``namespace``, as
apache/openwhisk-catalog's utils) and ``alarms`` (the feeds ``alarm``, ``interval`` and
``once``, served by the controller's alarm service, ``dispatch/alarms.py``). Their code is in
``sources/``: ordinary ``python:3`` actions, run on invokers like any other.
"""

from .install import NAMESPACE, install

__all__ = ["NAMESPACE", "install"]
