"""Side-by-side benchmarks of ocpprpc, run by one command: ``python -m benchmarks`` (``make bench``).

Four parts, each selectable with ``--only``:

* :mod:`benchmarks.throughput`: calls per second and latency of one central system process under 50
  busy charge points: ocpprpc vs the mobilityhouse ``ocpp`` package vs a bare ``websockets`` server.
* :mod:`benchmarks.scale`: 10,000 charge points connected at once: connect time, memory per connection
  (ocpprpc vs a bare ``websockets`` server), Heartbeat latency while connected.
* :mod:`benchmarks.codec`: decode + validate + encode per second, JSON (vs the mobilityhouse package) and
  SOAP (vs zeep with the official WSDLs).
* :mod:`benchmarks.hostile`: a charge point's BootNotification latency and the server's memory while
  other peers attack the same central system process (a CALL flood, expensive SOAP bodies, 1,000
  half-open sockets), beside the quiet figure.

These are measurements, not tests: nothing here runs under pytest, and nothing fails on a number. Each
run prints its tables and writes everything to ``benchmarks/results/<timestamp>.json``.
"""
