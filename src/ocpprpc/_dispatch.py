"""Handler registration: the ``@on`` and ``@after`` decorators and the per-class handler tables.

Theory of operation
-------------------
``@on("BootNotification")`` marks a method as the handler of an action; ``@on(v16.ResetRequest)``
does the same for one version only (the model's). ``@after(...)`` marks a method to run once the
response to that action has been sent, e.g. to ask a charge point for its configuration right after
accepting its BootNotification. The decorators only tag the function; ``HandlerTable.of(cls)`` collects
the tags along the class's MRO once per class, by *method name*, so a subclass that overrides a handler
method without re-decorating it still gets called.

Mistakes fail when the class is created, not when the first message arrives (a handler that is never
called is silent otherwise). ``HandlerTable.of`` raises :class:`~ocpprpc.errors.UsageError`, with the fix
in the message, for a handler of:

* an action no OCPP version has (``"Bootnotification"``): the closest action name is suggested;
* an action the class's side never receives (``RemoteStopTransaction`` on a ``CentralSystem``: the
  central system sends it), or one of a version the class does not speak (``@on(v16.XRequest)`` with
  ``versions = ("1.5",)``; an action only a version outside ``versions`` has);
* a method name that hides an attribute of the ocpprpc base classes (``call``, ``close``, ``version``,
  ``id``, ...): the framework would call the handler, or the handler would replace the framework's.

Look-up at run time is two dict probes: (version, action) first, then (None, action).
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from ._versions import VERSIONS, resolve_version
from .errors import UsageError
from .messages._base import OcppModel, OcppVersion, Side

__all__ = ["HandlerTable", "after", "on"]

F = TypeVar("F", bound=Callable[..., Any])

_ON = "__ocpp_on__"
_AFTER = "__ocpp_after__"

Key = tuple[str | None, str]


def _key(action: str | type[OcppModel], version: str | None) -> Key:
    if version is not None:
        version = resolve_version(version).version  # "ocpp1.5" → "1.5"; an unknown version is a UsageError
    if isinstance(action, str):
        if not action:
            raise UsageError("an action name must not be empty")
        return (version, action)
    given = cast(object, action)  # anything may be passed at run time
    if isinstance(given, type) and issubclass(given, OcppModel):
        for candidate in VERSIONS.values():
            pairs = [(a.name, a.request) for a in candidate.actions] + [(s.name, s.message) for s in candidate.sends]
            for name, model in pairs:
                if model is given:
                    if version is not None and version != candidate.version:
                        raise UsageError(
                            f"{given.__name__} is an OCPP {candidate.version} model, not {version}: "
                            f"drop version=, or pass the OCPP {version} model"
                        )
                    return (candidate.version, name)
        raise UsageError(f"{given.__name__} is not the request model of any OCPP action")
    raise UsageError(f"@on / @after take an action name or a request model, not {given!r}")


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

    The class statement raises :class:`~ocpprpc.errors.UsageError` for an action name no version has,
    an action the class's side does not receive, a version the class does not speak, or a method name
    that hides one of the role's own attributes (``call``, ``close``, ``id``, ...).
    """
    return _tagger(_ON, action, version)


def after(action: str | type[OcppModel], *, version: str | None = None) -> Callable[[F], F]:
    """Mark a method to run after the response to ``action`` was sent: ``method(request, response)``.

    Runs in the task that handled the request, once the reply is on its way; it may itself call the peer
    (the connection lends its turn meanwhile, so nothing deadlocks). Its exceptions are logged, never
    sent. Checked at class creation as :func:`on` is.
    """
    return _tagger(_AFTER, action, version)


# -- checks at class creation ---------------------------------------------------------------------------------


def _is_framework(klass: type) -> bool:
    module = getattr(klass, "__module__", "") or ""
    return module == "ocpprpc" or module.startswith("ocpprpc.")


def _assigned_attributes(klass: type) -> set[str]:
    """The ``self.x = ...`` attributes the methods of ``klass`` set (instance attributes: ``id``, ``logger``)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
    except (OSError, TypeError, SyntaxError):  # no source (frozen application): the class's own names only
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                names.add(target.attr)
    return names


@functools.cache
def _framework_attributes(klass: type) -> dict[str, str]:
    """Every name an ocpprpc base class defines, with what it is: ``{"call": "method", "id": "attribute"}``."""
    names: dict[str, str] = {}
    for name, member in vars(klass).items():
        if isinstance(member, property):
            names[name] = "property"
        elif callable(member) or isinstance(member, classmethod | staticmethod):
            names[name] = "method"
        else:
            names[name] = "attribute"
    for name in getattr(klass, "__annotations__", {}):
        names.setdefault(name, "attribute")
    for name in _assigned_attributes(klass):
        names.setdefault(name, "attribute")
    return names


def _quoted(text: str) -> str:
    return f'"{text}"'


def _snake(action: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in action).lstrip("_")


def _spoken_versions(role_class: type) -> list[OcppVersion]:
    """The versions a class's handlers receive: its ``canonical`` one if set, else its ``versions``."""
    canonical: str | None = getattr(role_class, "canonical", None)
    if canonical is not None:
        return [resolve_version(canonical)]
    versions: Iterable[Any] = getattr(role_class, "versions", ())
    return [resolve_version(v) for v in versions]


def _receives(version: OcppVersion, side: Side, action: str) -> bool:
    """Whether ``side`` receives ``action`` in ``version``: as a request, or as an unconfirmed message (2.1 SEND)."""
    return action in version.received_by(side) or action in version.sent_by(side.other)


def _sends(version: OcppVersion, side: Side, action: str) -> bool:
    return action in version.initiated_by(side) or action in version.sent_by(side)


def _check_action(role_class: type, method: str, decorator: str, key: Key, own: bool) -> None:
    """Raise :class:`UsageError` for a handler the class could never be asked to run."""
    version, action = key
    where = f"{role_class.__name__}.{method}"
    shown = f'{decorator}("{action}")' if version is None else f"{decorator} for {action} of OCPP {version}"
    known = {spec.name for v in VERSIONS.values() for spec in v.actions}
    known |= {send.name for v in VERSIONS.values() for send in v.sends}
    if action not in known:
        # suggest from the versions the class speaks (a 1.6 class is not told about 2.1's actions)
        spoken_versions = _spoken_versions(role_class) or list(VERSIONS.values())
        names = {spec.name for v in spoken_versions for spec in v.actions}
        names |= {send.name for v in spoken_versions for send in v.sends}
        by_lower = {name.lower(): name for name in names}
        close = difflib.get_close_matches(action.lower(), list(by_lower), n=1, cutoff=0.6)
        hint = f'did you mean "{by_lower[close[0]]}"?' if close else f"the actions are: {', '.join(sorted(names))}"
        raise UsageError(f'{shown} on {where}: no OCPP version has an action "{action}"; {hint}')
    side = getattr(role_class, "side", None)
    if not isinstance(side, Side):
        return  # a role class without a side (a mixin, Role itself): nothing more to check against
    spoken = _spoken_versions(role_class)
    spoken_names = [v.version for v in spoken]
    if version is not None and version not in spoken_names:
        if not own:
            return  # inherited, from a base class speaking more versions: harmless here
        raise UsageError(
            f"{shown} on {where}: {role_class.__name__} speaks OCPP {', '.join(spoken_names)} only "
            f'(its `versions`), so this handler would never run. Add "{version}" to `versions`, '
            f'or handle the action in every version with {decorator}("{action}").'
        )
    candidates = [v for v in spoken if version is None or v.version == version]
    if any(_receives(v, side, action) for v in candidates):
        return
    senders = [v.version for v in candidates if _sends(v, side, action)]
    if senders:
        module = f"v{senders[0].replace('.', '')}"
        unconfirmed = action in VERSIONS[senders[0]].sent_by(side)
        how = f"send({module}.{action}(...))" if unconfirmed else f"call({module}.{action}Request(...))"
        raise UsageError(
            f"{shown} on {where}: a {side.value} sends {action}, it never receives it (the "
            f"{side.other.value} does). Handle it in a {side.other.value} subclass; to send it, "
            f"`await self.{how}`."
        )
    if not own:
        return
    elsewhere = [v.version for v in VERSIONS.values() if _receives(v, side, action)]
    raise UsageError(
        f"{shown} on {where}: OCPP {', '.join(spoken_names)} (the class's `versions`) has no action "
        f'"{action}" a {side.value} receives; OCPP {", ".join(elsewhere)} has. '
        f"Add {' or '.join(map(_quoted, elsewhere))} to `versions`, or remove the handler."
    )


def _check_name(role_class: type, method: str, decorator: str, action: str) -> None:
    """Raise :class:`UsageError` when a handler's name hides an attribute of an ocpprpc base class."""
    for klass in role_class.__mro__:
        if not _is_framework(klass):
            continue
        kind = _framework_attributes(klass).get(method)
        if kind is not None:
            raise UsageError(
                f'{decorator}("{action}") on {role_class.__name__}.{method}: the name "{method}" hides the '
                f"{kind} {klass.__name__}.{method} that ocpprpc itself uses. Rename the method, e.g. to "
                f"on_{_snake(action)}."
            )


@dataclass(frozen=True)
class HandlerTable:
    """The handler and after-hook method names of one role class, by (version or None, action)."""

    handlers: dict[Key, str] = field(default_factory=dict[Key, str])
    afters: dict[Key, list[str]] = field(default_factory=dict[Key, list[str]])
    _after_cache: dict[Key, tuple[str, ...]] = field(
        default_factory=dict[Key, tuple[str, ...]], repr=False, compare=False
    )

    @classmethod
    def of(cls, role_class: type) -> HandlerTable:
        """Collect the handlers of ``role_class`` and its bases; :class:`UsageError` for a handler that is wrong.

        Each handler is checked (see the module documentation) unless it comes from an ocpprpc class.
        """
        table = cls()
        # Walk base classes first so that subclasses override.
        for klass in reversed(role_class.__mro__):
            checked = not _is_framework(klass)
            own = klass is role_class
            for name, member in vars(klass).items():
                on_keys: tuple[Key, ...] = getattr(member, _ON, ())
                after_keys: tuple[Key, ...] = getattr(member, _AFTER, ())
                for decorator, keys in (("@on", on_keys), ("@after", after_keys)):
                    for key in keys if checked else ():
                        _check_name(role_class, name, decorator, key[1])
                        _check_action(role_class, name, decorator, key, own)
                for key in on_keys:
                    table.handlers[key] = name
                for key in after_keys:
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
