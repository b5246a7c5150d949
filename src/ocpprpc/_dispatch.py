"""Handler registration: the ``@on`` and ``@after`` decorators and the per-class handler tables.

Theory of operation
-------------------
``@on("BootNotification")`` marks a method as the handler of an action; ``@on(v16.ResetRequest)``
does the same for one version only (the model's). ``@after(...)`` marks a method to run once the
response to that action has been sent, e.g. to ask a charge point for its configuration right after
accepting its BootNotification. The decorators only tag the function; ``HandlerTable.of(cls)`` collects
the tags along the class's MRO once per class, by *method name*, so a subclass that overrides a handler
method without re-decorating it still gets called.

Look-up at run time is two dict probes: (version, action) first, then (None, action).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import UsageError
from .messages._base import OcppModel, OcppVersion

__all__ = ["HandlerTable", "after", "on"]

F = TypeVar("F", bound=Callable[..., Any])

_ON = "__ocpp_on__"
_AFTER = "__ocpp_after__"

Key = tuple[str | None, str]


def _key(action: str | type[OcppModel], version: str | None) -> Key:
    if isinstance(action, str):
        if not action:
            raise UsageError("an action name must not be empty")
        return (version, action)
    if isinstance(action, type) and issubclass(action, OcppModel):
        from ._versions import VERSIONS

        for candidate in VERSIONS.values():
            for spec in candidate.actions:
                if spec.request is action:
                    return (candidate.version, spec.name)
        raise UsageError(f"{action.__name__} is not the request model of any OCPP action")
    raise UsageError(f"@on / @after take an action name or a request model, not {action!r}")


def _tagger(attribute: str, action: str | type[OcppModel], version: str | None) -> Callable[[F], F]:
    key = _key(action, version)

    def decorate(func: F) -> F:
        keys: list[Key] = list(getattr(func, attribute, ()))
        keys.append(key)
        setattr(func, attribute, tuple(keys))
        return func

    return decorate


def on(action: str | type[OcppModel], *, version: str | None = None) -> Callable[[F], F]:
    """Mark a method as the handler of ``action``.

    ``action`` is the action name (``"BootNotification"``), which registers the handler for every
    version the role speaks, or a request model (``v16.BootNotificationRequest``), which registers it for
    that model's version only; ``version="1.5"`` narrows a name to one version. The method receives the
    typed request of the connection's version and returns the response model (or raises an
    :class:`~ocpprpc.errors.OcppError` to answer with a chosen code); it may be sync or async.
    Stack several ``@on`` to handle several actions or versions with one method.
    """
    return _tagger(_ON, action, version)


def after(action: str | type[OcppModel], *, version: str | None = None) -> Callable[[F], F]:
    """Mark a method to run after the response to ``action`` was sent: ``method(request, response)``.

    Runs as its own task once the reply is on its way, so it may itself call the peer; its exceptions are
    logged, never sent.
    """
    return _tagger(_AFTER, action, version)


@dataclass(frozen=True)
class HandlerTable:
    """The handler and after-hook method names of one role class, by (version or None, action)."""

    handlers: dict[Key, str] = field(default_factory=dict)
    afters: dict[Key, list[str]] = field(default_factory=dict)
    _after_cache: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, role_class: type) -> HandlerTable:
        table = cls()
        # Walk base classes first so that subclasses override.
        for klass in reversed(role_class.__mro__):
            for name, member in vars(klass).items():
                for key in getattr(member, _ON, ()):
                    table.handlers[key] = name
                for key in getattr(member, _AFTER, ()):
                    names = table.afters.setdefault(key, [])
                    if name not in names:
                        names.append(name)
        return table

    def handler(self, version: OcppVersion, action: str) -> str | None:
        return self.handlers.get((version.version, action)) or self.handlers.get((None, action))

    def after_hooks(self, version: OcppVersion, action: str) -> tuple[str, ...]:
        key = (version.version, action)
        hooks = self._after_cache.get(key)
        if hooks is None:
            hooks = self._after_cache[key] = (*self.afters.get(key, ()), *self.afters.get((None, action), ()))
        return hooks
