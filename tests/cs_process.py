"""A central system in its own process, for the kill-and-restart tests.

    python tests/cs_process.py <port> [<transaction id>] [--soap]

Serves OCPP-J (WebSocket) on 127.0.0.1:<port>, or with ``--soap`` OCPP-S at ``http://127.0.0.1:<port>/``.
Prints ``READY`` when listening, then:

* ``ARRIVED {"cp": id, "action": name, "id": message id}`` for every transaction message that arrives,
  a retry answered from memory included;
* one JSON line per message it handles (a retry answered from memory is not handled again):
  ``{"cp": id, "action": name, "id": message id, "payload": {...}}``.

Answers everything with valid example responses; StartTransaction gets ``<transaction id>`` (default 1).
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpprpc import TRANSACTION_ACTIONS, CentralSystem, CentralSystemServer, OcppModel
from ocpprpc.messages.examples import example
from ocpprpc.roles import InboundResult
from ocpprpc.transports import soap, websocket

ARGUMENTS = [argument for argument in sys.argv[1:] if not argument.startswith("--")]
SOAP = "--soap" in sys.argv[1:]
TRANSACTION_ID = int(ARGUMENTS[1]) if len(ARGUMENTS) > 1 else 1

_message_id: ContextVar[str | None] = ContextVar("message_id", default=None)


class RecordingCentralSystem(CentralSystem):
    async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> InboundResult:
        if action in TRANSACTION_ACTIONS:
            print("ARRIVED " + json.dumps({"cp": self.id, "action": action, "id": message_id}), flush=True)
        token = _message_id.set(message_id)
        try:
            return await super().handle_call(action, payload, message_id)
        finally:
            _message_id.reset(token)

    async def on_unhandled(self, action: str, request: OcppModel) -> Any:
        record = {"cp": self.id, "action": action, "id": _message_id.get(), "payload": request.to_json_dict()}
        print(json.dumps(record), flush=True)
        response = example(self.ocpp_version.received_by(self.side)[action].response)
        if action == "StartTransaction":
            response = response.model_copy(update={"transaction_id": TRANSACTION_ID})
        return response


async def main() -> None:
    server = CentralSystemServer(RecordingCentralSystem)
    port = int(ARGUMENTS[0])
    transport = soap.serve(server, "127.0.0.1", port) if SOAP else websocket.serve(server, "127.0.0.1", port)
    async with transport:
        print("READY", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
