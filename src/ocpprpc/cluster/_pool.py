"""Handlers in a worker pool, the node's side: a valid inbound call handed to a worker, its answer checked.

A node given ``Cluster(worker_pool=...)`` keeps everything protocol: the transport, the framing, the
validation of each request against its model (a bad request gets its CALLERROR from the node, as
without a pool, and never travels), the memory of answers (exactly once), the events, the registry. Only
the handler runs elsewhere: :class:`Forwarder` sends the valid request to ``<prefix>.work.<version>.<action>``
(:mod:`._wire` has the JSON), where one worker of the queue group ``workers`` (a
:class:`~ocpprpc.cluster.ClusterWorker`) runs it, and validates the worker's answer as the response model
before it goes back to the charge point.

When no worker answers, the charge point gets an ``InternalError`` CALLERROR and the node logs one
warning: at once when no worker subscribes (NATS "no responders") and when the workers are full (a
worker refuses as busy what it cannot queue; the pool is tried three times), within about two seconds
when the worker handling the call dies (the node checks it every second while it waits), after the
worker's handler timeout plus two seconds when it stays silent, and after five seconds when a worker
that does not acknowledge calls (one written without ocpprpc may not) does not answer either.
InternalError, not NotImplemented or NotSupported: the action is known and supported, the central system
could not handle it *now*, and a charge point may send it again (a transaction message, typically). Such
an answer is not remembered as the message's answer: a retry of it is handled, by whichever worker is
there then.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from pydantic import ValidationError

from .._identity import loggable
from ..errors import CallTimeout, ConnectionClosed, InternalError, OcppError, OcppRpcError
from ..roles import InboundResult, Role
from ._calls import Caller, NoWorker, retrying
from ._subjects import Names
from ._wire import PoolBusy, WorkRequest

__all__ = ["Forwarder"]

_log = logging.getLogger("ocpprpc.cluster")

_BUSY_RETRIES = (0.0, 0.02)
"""A call a busy worker refused is sent to the pool again after these pauses (the queue group picks a
worker at random: maybe another)."""


class Forwarder:
    """Hands a node's inbound calls (those of ``actions``, None: all) to the worker pool."""

    def __init__(self, names: Names, node: str, actions: Collection[str] | None) -> None:
        self._names = names
        self._node = node
        self.actions = None if actions is None else frozenset(actions)
        """The actions handed to the pool (None: every action)."""
        self.caller: Caller | None = None
        """How requests go out (set when the node's NATS connection is made)."""

    def wants(self, action: str) -> bool:
        return self.actions is None or action in self.actions

    async def answer(
        self, role: Role, action: str, payload: dict[str, Any] | str, message_id: str | None
    ) -> tuple[InboundResult, bool]:
        """The answer to one request of ``role``'s charge point, and whether it is the handler's (False: no
        worker answered, an InternalError the charge point may retry, not to be remembered)."""
        checked = await role._request_of(action, payload)
        if isinstance(checked, InboundResult):  # refused here: invalid, or not an action a central system takes
            return checked, True
        route, request = checked
        spec, version = route.spec, role.version
        subject = self._names.work(version, spec.name)
        body = WorkRequest(role.id, self._node, version, spec.name, message_id, request.to_json_dict()).encode()
        try:
            caller = self.caller
            if caller is None:
                raise ConnectionClosed("the node has not started its cluster")
            answer = await retrying(lambda: caller.forward(subject, role.id, spec.name, body), PoolBusy, _BUSY_RETRIES)
        except PoolBusy as exc:
            return self._failed(role, action, message_id, "the worker pool is busy", str(exc))
        except OcppError as error:  # the handler's own error, for the charge point
            return InboundResult(None, error), True
        except NoWorker as exc:
            return self._failed(role, action, message_id, "no worker is available", str(exc))
        except CallTimeout as exc:
            return self._failed(role, action, message_id, "no worker answered in time", str(exc))
        except ConnectionClosed as exc:  # the worker died, or NATS is unreachable (ClusterUnavailable)
            return self._failed(role, action, message_id, "the worker pool failed", str(exc))
        except OcppRpcError as exc:  # ClusterError, UsageError: a worker that makes no sense
            return self._failed(role, action, message_id, "the worker pool failed", f"{type(exc).__name__}: {exc}")
        try:
            response = spec.response.model_validate(answer)
        except ValidationError as exc:
            role.logger.error(
                "the worker's %s response for %s is invalid: %s", spec.name, role.id, loggable(str(exc), 300)
            )
            return InboundResult(None, InternalError(f"the central system built an invalid {spec.name} response")), True
        return InboundResult(response.to_json_dict()), True

    @staticmethod
    def _failed(role: Role, action: str, message_id: str | None, what: str, why: str) -> tuple[InboundResult, bool]:
        _log.warning(
            "cluster: %s %s from %s answered InternalError: %s (%s)",
            action,
            loggable(message_id or "", 40),
            loggable(role.id),
            what,
            loggable(why, 200),
        )
        return InboundResult(None, InternalError(f"{what} for {action}; try again")), False
