"""The simulator's plugin interface: a Python file in ``examples/plugins/`` holding a :class:`Plugin` subclass.

A plugin declares who it is and where it fits::

    class Hello(Plugin):
        name = "hello"
        description = "says hello to every charge point that connects"
        side = "cs"            # "cs": it acts for the central system; "cp": for the charge points
        version = None         # an OCPP version ("1.6") it is written for, or None for any

and overrides the hooks it needs, all optional:

* ``on_load()`` / ``on_unload()``: when ``load <name>`` / ``unload <name>`` runs;
* ``on_connect(role)`` / ``on_disconnect(role)``: a connection of its side came up / went away
  (``role`` is the simulator's CentralSystem or ChargePoint object; ``await role.call(...)`` calls out);
* ``answer(role, action, request)``: return a response (model or dict) to override the default answer to
  an incoming request, or None to leave it to the next plugin / the default;
* ``answered(role, action, request, response)``: runs once the answer to an incoming request was sent
  (e.g. a RemoteStartTransaction accepted, now start the transaction);
* ``commands``: a dict ``{"name": coroutine function(args: Command)}`` of its own commands.

``self.sim`` is the :class:`~sim.app.Simulator`: ``self.sim.say(text)`` prints a line,
``self.sim.charge_points`` / ``self.sim.connected_charge_points()`` find roles to call.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from ocpprpc import OcppModel, Role

    from .app import Simulator
    from .commands import Command

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins"

CommandHandler = Callable[["Command"], Awaitable[None]]


class Plugin:
    """Base class of simulator plugins; see the module docstring."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    side: ClassVar[Literal["cs", "cp"]] = "cs"
    version: ClassVar[str | None] = None

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.commands: dict[str, CommandHandler] = {}

    def applies_to(self, role: Role) -> bool:
        """Whether this plugin acts for ``role`` (its side, and its version when it names one)."""
        side = "cs" if role.side.value == "CentralSystem" else "cp"
        return side == self.side and (self.version is None or role.version == self.version)

    async def on_load(self) -> None:
        """Called by ``load``."""

    async def on_unload(self) -> None:
        """Called by ``unload`` and when the simulator stops."""

    async def on_connect(self, role: Role) -> None:
        """A connection of this plugin's side came up."""

    async def on_disconnect(self, role: Role) -> None:
        """A connection of this plugin's side went away."""

    async def answer(self, role: Role, action: str, request: OcppModel) -> OcppModel | dict[str, Any] | None:
        """A response to use instead of the default one, or None."""
        return None

    async def answered(self, role: Role, action: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """The answer to an incoming request (both as OCPP-J payloads) has been sent."""


def available() -> dict[str, Path]:
    """The plugin files in ``examples/plugins/``, by name."""
    return {path.stem: path for path in sorted(PLUGIN_DIR.glob("*.py")) if not path.name.startswith("_")}


def load_class(name: str) -> type[Plugin]:
    """Import ``examples/plugins/<name>.py`` afresh and return its one :class:`Plugin` subclass."""
    path = available().get(name)
    if path is None:
        raise LookupError(f"no plugin {name!r}; available: {', '.join(available()) or 'none'}")
    spec = importlib.util.spec_from_file_location(f"sim_plugin_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs: dataclasses and typing resolve a module's names through sys.modules.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Plugin)
        and value is not Plugin
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise LookupError(f"plugin file {path.name} must define exactly one Plugin subclass, found {len(found)}")
    return found[0]
