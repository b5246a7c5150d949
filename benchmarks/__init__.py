"""Side-by-side benchmarks of ocpprpc, run by one command: ``python -m benchmarks`` (``make bench``).

Eight parts, each selectable with ``--only``:

* :mod:`benchmarks.throughput`: calls per second and latency of one central system process under 50
  busy charge points: ocpprpc vs the mobilityhouse ``ocpp`` package vs a bare ``websockets`` server.
* :mod:`benchmarks.throughput201`: the same in OCPP 2.0.1 (TransactionEvent Updated and Heartbeat):
  ocpprpc vs the mobilityhouse package's ``ocpp.v201`` vs a bare ``websockets`` server.
* :mod:`benchmarks.scale`: 10,000 charge points connected at once: connect time, memory per connection
  (ocpprpc vs a bare ``websockets`` server), Heartbeat latency while connected.
* :mod:`benchmarks.codec`: decode + validate + encode per second, JSON (vs the mobilityhouse package) and
  SOAP (vs zeep with the official WSDLs).
* :mod:`benchmarks.codec201`: OCPP 2.0.1 JSON, decode + validate, serialise and round trip per second of
  TransactionEvent Updated and BootNotification, vs the mobilityhouse package's ``ocpp.v201``.
* :mod:`benchmarks.hostile`: a charge point's BootNotification latency and the server's memory while
  other peers attack the same central system process (a CALL flood, expensive SOAP bodies, 1,000
  half-open sockets), beside the quiet figure.
* :mod:`benchmarks.gateway`: the same 1.6 central system directly and through ``ocpprpc.gateway``
  (relaying 1.6, translating 1.5, with its outbox): latency, calls/s, CPU per call.
* :mod:`benchmarks.cluster`: central system processes on NATS (``ocpprpc.cluster``): 1 vs 2 workers on
  one port, calls routed through another node or a ``ClusterClient`` vs local ones, 30,000 connections
  across 3 nodes (memory per connection, presence) vs the same nodes without a cluster.

These are measurements, not tests: nothing here runs under pytest, and nothing fails on a number. Each
run prints its tables and writes everything to ``benchmarks/results/<timestamp>.json``.
"""

import sys as _sys
from pathlib import Path as _Path

_SRC = _Path(__file__).resolve().parent.parent / "src"
if (_SRC / "ocpprpc" / "__init__.py").is_file() and str(_SRC) not in _sys.path and "ocpprpc" not in _sys.modules:
    # Measure this checkout's ocpprpc, in this process and in every child (they import this package first),
    # whatever the virtual environment's install points at: an editable install points at the checkout
    # it was made from, so a git worktree run with another checkout's venv would measure that checkout.
    _sys.path.insert(0, str(_SRC))
