"""edgewhisk's devkit: start a controller and a fleet of edge agents as child processes.

What the demo, the benchmarks and the test harnesses need, in one place: a controller
(``edgewhisk controller``) on a free port that is ready when it printed ``APIHOST=``/``AUTH=``
(:class:`Controller`), edge agents (``edgewhisk invoker``) that are ready when they registered
(:class:`Agent`, :class:`Fleet`), each stopped by its pid (SIGTERM, then SIGKILL) with its log
kept for the message of a failed start (:class:`StartError`), a client bound to the
controller (:meth:`Controller.client`), a TCP relay whose link can be cut (:class:`Relay`:
a device out of coverage), a Redis for Composer's ``parallel``/``map`` (:class:`Redis`), an
app of the caller's own served in its process on a free port (:func:`app_server`), and
CouchDB's API and S3 (:class:`CouchDB`: pouchdb-server, :class:`S3`: moto), both
:class:`HttpService` subclasses, the one launcher of a server that is ready when it answers HTTP.
It imports only :mod:`edgewhisk_client` and :mod:`edgewhisk_runtime`.
"""

from .agent import Agent, tunnel_url
from .cluster import Cluster  # several controllers on one CouchDB and one Redis
from .controller import UNLIMITED, Controller
from .exceptions import StartError
from .fleet import AgentSpec, Fleet
from .http_services import S3, CouchDB, HttpService
from .inprocess import app_server
from .process import Child, alive, children, descendants, edgewhisk_command
from .redis import Redis
from .relay import Relay

__all__ = [
    "S3", "UNLIMITED", "Agent", "AgentSpec", "Child", "Controller", "CouchDB", "Fleet", "Redis",
    "Relay", "HttpService",
    "StartError",
    "alive",
    "children", "descendants", "app_server", "edgewhisk_command", "tunnel_url",
    "Cluster",
]
