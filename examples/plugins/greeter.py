"""Greets every charge point that connects with a DataTransfer, then asks for its local list version.

A central system plugin for any OCPP version. The messages are looked up in the connection's version
(``role.ocpp_version.initiated_by(role.side)``) instead of being imported from ``ocpprpc.messages.v16``, so
one plugin serves 1.5, 1.6, 2.0.1 and 2.1 and notices what 1.2 lacks (DataTransfer and GetLocalListVersion
came with 1.5) instead of failing. Where versions name a field differently (the list version is
``listVersion`` in 1.x, ``versionNumber`` in 2.x), it reads the one the version has.
"""

from __future__ import annotations

from typing import Any

from sim.plugin import Plugin

from ocpprpc import Role

VENDOR_ID = "ocpprpc"


def _request(role: Role, action: str, **fields: Any) -> Any:
    """The request model ``role`` sends for ``action`` in its connection's version; None if there is no such action."""
    spec = role.ocpp_version.initiated_by(role.side).get(action)
    return None if spec is None else spec.request(**fields)


class Greeter(Plugin):
    name = "greeter"
    description = "greets each charge point with a DataTransfer and asks its local list version (OCPP 1.5+)"
    side = "cs"
    version = None

    async def on_connect(self, role: Role) -> None:
        # Call from a task of its own: the connection goes on while the greeting waits for its answer
        # (over SOAP the charge point is "connected" while its first request is still being answered).
        self.sim.spawn("greeter", f"greeting {role.id}", self.greet(role))

    async def greet(self, role: Role) -> None:
        ocpp = f"OCPP {role.version}"
        greeting = _request(role, "DataTransfer", vendor_id=VENDOR_ID, message_id="greeting", data=f"Hello {role.id}")
        if greeting is None:
            self.sim.say(f"greeter: hello, {role.id} ({ocpp} has no DataTransfer)")
        else:
            answer = await role.call(greeting)
            self.sim.say(f"greeter: {role.id} answered the greeting: {answer.status.value}")

        ask_version = _request(role, "GetLocalListVersion")
        if ask_version is None:
            self.sim.say(f"greeter: GetLocalListVersion is unavailable in {ocpp} ({role.id})")
        else:
            answer = await role.call(ask_version)
            number = answer.version_number if role.version in ("2.0.1", "2.1") else answer.list_version
            self.sim.say(f"greeter: {role.id} local list version: {number}")
