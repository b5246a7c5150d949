"""A central system in its own process, for the kill-and-restart test.

    python tests/cs_process.py <port>

Prints ``READY`` when listening, then one JSON line per transaction message it receives:
``{"cp": id, "action": name, "payload": {...}}``. Answers everything with valid example responses.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpprpc import CentralSystem, CentralSystemServer, OcppModel
from ocpprpc.messages.examples import example
from ocpprpc.transports import websocket

TRANSACTION_ID = int(sys.argv[2]) if len(sys.argv) > 2 else 1


class RecordingCentralSystem(CentralSystem):
    async def on_unhandled(self, action: str, request: OcppModel) -> Any:
        print(json.dumps({"cp": self.id, "action": action, "payload": request.to_json_dict()}), flush=True)
        response = example(self.version.received_by(self.side)[action].response)
        if action == "StartTransaction":
            response = response.model_copy(update={"transaction_id": TRANSACTION_ID})
        return response


async def main() -> None:
    server = CentralSystemServer(RecordingCentralSystem)
    async with websocket.serve(server, "127.0.0.1", int(sys.argv[1])):
        print("READY", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
