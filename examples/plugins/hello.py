"""The smallest plugin: greets on load, on every connection, and adds a ``hello`` command."""

from __future__ import annotations

from sim.commands import Command
from sim.plugin import Plugin

from ocpprpc import Role


class Hello(Plugin):
    name = "hello"
    description = "hello world: says hello on load, on each charge point connection, and with `hello [name]`"
    side = "cs"
    version = None

    async def on_load(self) -> None:
        self.commands["hello"] = self.hello
        self.sim.say("hello: loaded")

    async def on_unload(self) -> None:
        self.sim.say("hello: goodbye")

    async def on_connect(self, role: Role) -> None:
        self.sim.say(f"hello: hello, {role.id}")

    async def hello(self, command: Command) -> None:
        self.sim.say(f"hello: hello, {' '.join(command.args) or 'world'}")
