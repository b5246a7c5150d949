"""A handler that could never run, or that would break the role, is refused when its class is created.

Each mistake raises :class:`~ocpprpc.errors.UsageError` from the ``class`` statement (not at the first
message, when it would be silent or a NotSupported answer to the peer), and the message says the fix.
"""

# pyright: reportUnusedClass=false
# (each class statement in a pytest.raises block is the code under test: creating the class must fail)

from __future__ import annotations

from typing import Any

import pytest

from ocpprpc import CentralSystem, ChargePoint, Role, UsageError, after, on
from ocpprpc.messages import v15, v16


def test_a_misspelled_action_name_is_refused_with_the_closest_name() -> None:
    with pytest.raises(
        UsageError, match=r'no OCPP version has an action "Bootnotification"; did you mean "BootNotification"\?'
    ):

        class Typo(CentralSystem):
            @on("Bootnotification")
            def boot(self, request: Any) -> Any: ...

    with pytest.raises(UsageError, match='did you mean "StartTransaction"'):

        class AfterTypo(CentralSystem):
            @after("StartTransation")
            def started(self, request: Any, response: Any) -> None: ...


def test_an_action_name_with_no_close_match_lists_the_actions() -> None:
    with pytest.raises(UsageError, match=r'"Xyzzy".*the actions are: Authorize, BootNotification'):

        class Nonsense(ChargePoint):
            @on("Xyzzy")
            def xyzzy(self, request: Any) -> Any: ...


@pytest.mark.parametrize(
    ("base", "action", "receiver"),
    [
        (CentralSystem, "RemoteStopTransaction", "ChargePoint"),
        (CentralSystem, v16.ResetRequest, "ChargePoint"),
        (ChargePoint, "BootNotification", "CentralSystem"),
        (ChargePoint, v15.StartTransactionRequest, "CentralSystem"),
    ],
)
def test_an_action_the_side_sends_rather_than_receives_is_refused(base: type[Role], action: Any, receiver: str) -> None:
    with pytest.raises(UsageError, match=rf"sends \w+, it never receives it \(the {receiver} does\)") as exc:

        class WrongSide(base):  # type: ignore[misc, valid-type]  # mypy takes no base class from a variable
            @on(action)
            def handler(self, request: Any) -> Any: ...

    assert f"Handle it in a {receiver} subclass" in str(exc.value)
    assert "await self.call(" in str(exc.value)


def test_after_hooks_are_checked_for_the_side_as_well() -> None:
    with pytest.raises(UsageError, match="never receives it"):

        class WrongSideAfter(CentralSystem):
            @after("RemoteStartTransaction")
            def started(self, request: Any, response: Any) -> None: ...


def test_data_transfer_goes_both_ways_so_both_sides_may_handle_it() -> None:
    class Cs(CentralSystem):
        @on("DataTransfer")
        def data(self, request: Any) -> Any: ...

    class Cp(ChargePoint):
        @on(v16.DataTransferRequest)
        def data(self, request: Any) -> Any: ...

    assert Cs._handlers.handlers == {(None, "DataTransfer"): "data"}
    assert Cp._handlers.handlers == {("1.6", "DataTransfer"): "data"}


def test_a_model_of_a_version_the_class_does_not_speak_is_refused() -> None:
    with pytest.raises(UsageError, match=r'speaks OCPP 1\.5 only \(its `versions`\).*Add "1\.6" to `versions`'):

        class OnlyOld(CentralSystem):
            versions = ("1.5",)

            @on(v16.BootNotificationRequest)
            def boot(self, request: Any) -> Any: ...

    with pytest.raises(UsageError, match=r'Add "1\.2" to `versions`'):

        class NamedVersion(CentralSystem):
            versions = ("1.6", "1.5")

            @on("Heartbeat", version="1.2")
            def beat(self, request: Any) -> Any: ...


def test_an_action_only_a_version_outside_versions_has_is_refused() -> None:
    with pytest.raises(UsageError, match=r'OCPP 1\.5 .* has no action "TriggerMessage" .* Add .*"1\.6" to `versions`'):

        class NoTrigger(ChargePoint):
            versions = ("1.5",)

            @on("TriggerMessage")
            def trigger(self, request: Any) -> Any: ...


def test_a_version_is_read_as_its_subprotocol_too_and_an_unknown_one_is_refused() -> None:
    class Old(CentralSystem):
        @on("BootNotification", version="ocpp1.5")
        def boot(self, request: Any) -> Any: ...

    assert Old._handlers.handlers == {("1.5", "BootNotification"): "boot"}
    with pytest.raises(UsageError, match=r"unknown OCPP version '3\.0'"):
        on("BootNotification", version="3.0")
    with pytest.raises(UsageError, match=r"ResetRequest is an OCPP 1\.6 model, not 1\.5"):
        on(v16.ResetRequest, version="1.5")
    assert on(v16.ResetRequest, version="1.6") is not None


@pytest.mark.parametrize(
    ("base", "name", "kind", "owner"),
    [
        (CentralSystem, "call", "method", "Role"),
        (CentralSystem, "close", "method", "Role"),
        (CentralSystem, "version", "property", "Role"),
        (CentralSystem, "id", "attribute", "Role"),
        (CentralSystem, "attach", "method", "Role"),
        (CentralSystem, "logger", "attribute", "Role"),
        (CentralSystem, "strict", "attribute", "Role"),
        (CentralSystem, "on_connect", "method", "Role"),
        (CentralSystem, "_answer", "method", "Role"),
        (ChargePoint, "enqueue", "method", "ChargePoint"),
        (ChargePoint, "outbox", "attribute", "ChargePoint"),
    ],
)
def test_a_handler_whose_name_hides_a_framework_attribute_is_refused(
    base: type, name: str, kind: str, owner: str
) -> None:
    action = "DataTransfer"  # received by both sides

    def handler(self: Any, request: Any) -> None: ...

    namespace: dict[str, Any] = {name: on(action)(handler)}
    with pytest.raises(UsageError) as exc:
        type("Shadowing", (base,), namespace)
    message = str(exc.value)
    assert f'the name "{name}" hides the' in message
    assert f"{owner}.{name}" in message
    assert "Rename the method, e.g. to on_data_transfer" in message
    if kind != "attribute":
        assert f"{kind} {owner}.{name}" in message


def test_hooks_overridden_without_a_decorator_are_not_handlers_and_are_fine() -> None:
    class Hooks(CentralSystem):
        async def on_connect(self) -> None: ...

        @on("Heartbeat")
        def heartbeat(self, request: Any) -> Any: ...

    assert Hooks._handlers.handlers == {(None, "Heartbeat"): "heartbeat"}


def test_an_inherited_handler_of_a_version_the_subclass_drops_is_kept_silently() -> None:
    class Every(CentralSystem):
        @on(v16.BootNotificationRequest)
        def boot(self, request: Any) -> Any: ...

    class Narrower(Every):
        versions = ("1.5",)

    assert Narrower._handlers.handlers == {("1.6", "BootNotification"): "boot"}


def test_a_mixin_handler_is_checked_in_the_role_class_that_uses_it() -> None:
    class Mixin:
        @on("RemoteStopTransaction")
        def stop(self, request: Any) -> Any: ...

    class Fine(Mixin, ChargePoint):
        pass

    assert Fine._handlers.handlers == {(None, "RemoteStopTransaction"): "stop"}
    with pytest.raises(UsageError, match="never receives it"):

        class Wrong(Mixin, CentralSystem):
            pass
