"""Throughput, OCPP 2.0.1: the :mod:`benchmarks.throughput` measurement with 2.0.1 charging stations.

What is measured
----------------
The same as the 1.6 part, on the same harness and load generator with the same knobs (``--connections``,
``--repetitions``, ``--warmup``, ``--window``, ``--generators``, ``--client``): one central system process,
50 charging station connections on 127.0.0.1 offering the subprotocol ``ocpp2.0.1``, each sending its
calls back to back, one in flight at a time: a TransactionEvent four times, then a Heartbeat, and again.
The TransactionEvent is eventType Updated, triggerReason MeterValuePeriodic, with transactionInfo
(transaction id, charging state), the EVSE, a seqNo and one meterValue of five sampled values (energy,
current, voltage, power, state of charge, each with context / measurand / unitOfMeasure): the 2.0.1
form of the 1.6 part's MeterValues, so both parts carry the same meter readings in the same mix.
The seqNo is the same in every frame (frames are pre-built); neither server reads it.

The three servers (``benchmarks._servers --ocpp 2.0.1``): (a) ocpprpc, a ``CSMS`` subclass with
``versions = ("2.0.1",)`` and ``@on`` handlers taking the ``v201`` models, on ``websocket.serve``: every
request is validated into its pydantic model, every response built as one; (b) the mobilityhouse ``ocpp``
package, its ``ocpp.v201.ChargePoint`` with ``@on`` handlers on a ``websockets`` server, with its default
of validating every request and response against its OCPP 2.0.1 JSON schemas in the default thread pool;
(c) the bare ``websockets`` server (``json.loads``, answer a CALLRESULT), offering ``ocpp2.0.1``: the
ceiling, for context (the 2.0.1 part has no target against it).

Why it is fair
--------------
As for the 1.6 part: the generator is the same code with no OCPP library in it, its CPU use is printed
beside the server's; both libraries are used as their documentation shows, with their defaults; both
validate every request against the same OCPP 2.0.1 definitions (the official JSON schemas ship with the
mobilityhouse package; ocpprpc's models are generated from them), and ocpprpc also parses the date-times
and checks their format, which the package's schema check leaves unchecked. The target is the 1.6
part's: ocpprpc at least 3 times the mobilityhouse package's calls per second.
"""

from __future__ import annotations

import argparse
from typing import Any

from .throughput import run_edition


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No knobs of its own: the throughput group's apply to both versions."""


def run(args: argparse.Namespace) -> dict[str, Any]:
    return run_edition(args, "2.0.1")
