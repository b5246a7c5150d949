"""A central system spread over several processes and machines, on NATS (the ``cluster`` extra).

Each process is a *node*: a :class:`CentralSystemServer <ocpprpc.server.CentralSystemServer>` given a
:class:`Cluster`; its transports accept charge points as usual. A process that holds no sockets (a
backend, an API) joins as a :class:`ClusterClient`. All of them connect to one NATS deployment (a
server, or a NATS cluster of three), or to an :class:`EmbeddedNats` the library starts when no URL is
given::

    cluster = Cluster("nats://nats-1:4222,nats://nats-2:4222", node_id="cs-1", events=True)
    server = CentralSystemServer(MyCentralSystem, cluster=cluster)
    async with cluster, websocket.serve(server, "0.0.0.0", 9000):
        await server.call("CP1", v16.ResetRequest(type="Soft"))  # whichever node holds CP1

The contract
------------
Names (``prefix`` ``ocpprpc`` by default; ids on NATS are tokens, see :func:`encode_token`):

==================================================  ===============================================================
``<prefix>.call.<charge point>``                    request/reply: call a charge point (:mod:`._wire` has the JSON)
``<prefix>.node.<node>.ping``                       request/reply: is the node there
``<prefix>.work.<version>.<action>``                request/reply, queue group ``workers``: a worker handles a call
``<prefix>.worker.<worker>.ping``                   request/reply: is the worker there
``<prefix>.events.<version>.<action>.<cp>``         stream ``<prefix>_events``: inbound calls and answers
key-value ``<prefix>_presence``                     key: charge point; value: :class:`ChargePointInfo` as JSON
key-value ``<prefix>_nodes``                        key: node; value: ``{"node", "ttl", "at", "since"}``
key-value ``<prefix>_answers``                      key: ``<charge point>.<action>.<message id>``; the answers
==================================================  ===============================================================

Guarantees:

* **Calls from anywhere.** ``server.call`` (a charge point held elsewhere) and :meth:`ClusterClient.call`
  return the typed response or raise what a local call raises: the same :class:`~ocpprpc.errors.OcppError`
  subclass (``remote``, ``raw_code`` kept), :class:`~ocpprpc.server.UnknownChargePoint` *at once* when
  no node holds the charge point (NATS "no responders"), :class:`~ocpprpc.errors.CallTimeout`,
  :class:`~ocpprpc.errors.ConnectionClosed`, :class:`~ocpprpc.errors.UsageError` (e.g. a request
  model of another version than the charge point's connection). A call to a charge point on this node
  never leaves the process.
* **Presence** (:class:`Presence`, ``cluster.presence``): every member's copy of which charge point is
  connected to which node, by which transport and version, since when; connect / disconnect listeners on
  every member.
* **One owner.** A charge point registered on a node is written to presence; the latest registration
  wins, and the node holding an older connection of it closes that connection as soon as it sees the
  newer one (milliseconds), so calls go to the newest connection and no two nodes keep serving it.
* **Events** (``events=True``): every inbound call and its answer is in a durable stream before the
  answer goes back (see :mod:`._events` for the JSON), for consumers in any language, at least once.
* **Exactly once across nodes**: a transaction message retried after a reconnect to another node is
  answered from the answers bucket, not handled again (see :mod:`._answers`).
* **Handlers where you want them**: by default a node's own role objects handle its charge points'
  calls; ``Cluster(worker_pool=True)`` (or a set of action names) hands them, once validated, to
  :class:`ClusterWorker` processes sharing a NATS queue group, which run the same role class. The node
  keeps the protocol (validation, exactly once, events); see :mod:`._pool` and :mod:`._worker`.
* **Every core**: :func:`serve_workers` (``python -m ocpprpc.cluster module:RoleClass --workers N``) runs
  N node processes on one port (``SO_REUSEPORT``) sharing one cluster (an embedded NATS when no URL is
  given), restarting a worker that dies and stopping them all on SIGINT / SIGTERM; see :mod:`._processes`.
* **Test tools from anywhere**: ``server.call_raw`` / ``send_raw`` (and :class:`ClusterClient`'s) reach a
  charge point on any node, with the results they have locally.

Failures:

* NATS unreachable from a node: its charge points keep working (their calls are local); a call to a
  charge point held elsewhere fails at once with :class:`ClusterUnavailable` (a ConnectionClosed);
  calls waiting for another node fail the same way; events and answers wait in memory; the node rejoins
  by itself when NATS is back (re-registering its charge points: the later connection of a charge point
  that moved meanwhile wins).
* A node killed: its subscriptions vanish with its NATS connection, so calls to its charge points fail at
  once with UnknownChargePoint, and calls already waiting for it with ConnectionClosed within about a
  second (each caller checks the node it waits for); its charge points leave presence ``node_ttl``
  seconds (default 5) after its last heartbeat, and reconnect to the other nodes.
* NATS restarted (or one server of a NATS cluster lost): members reconnect by themselves and rejoin.
* No worker for a call a node hands to the pool: the charge point is answered ``InternalError`` at once
  (NATS "no responders"); a worker killed while handling one: ``InternalError`` within about two
  seconds (the node checks the worker every second); either way one warning line, and the answer is not
  remembered, so a retry of the message is handled.
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("nats") is None:  # the client library comes with the extra
    raise ImportError("ocpprpc.cluster needs the cluster extra: pip install 'ocpprpc[cluster]'")

from ._answers import ClusterAnswers
from ._calls import ClusterUnavailable
from ._cluster import Cluster, ClusterClient
from ._embedded import EmbeddedNats, find_nats_server
from ._events import Event
from ._presence import ChargePointInfo, NodeInfo, Presence
from ._processes import WorkerFailed, Workers, WorkerSpec, run_worker, serve_workers
from ._subjects import Names, decode_token, encode_token
from ._wire import ClusterError
from ._worker import ClusterWorker

__all__ = [
    "ChargePointInfo",
    "Cluster",
    "ClusterAnswers",
    "ClusterClient",
    "ClusterError",
    "ClusterUnavailable",
    "ClusterWorker",
    "EmbeddedNats",
    "Event",
    "Names",
    "NodeInfo",
    "Presence",
    "WorkerFailed",
    "WorkerSpec",
    "Workers",
    "decode_token",
    "encode_token",
    "find_nats_server",
    "run_worker",
    "serve_workers",
]
