"""How OCPP 1.2, 1.5 and 1.6 messages translate into each other: the table, as data.

Hand-written, next to the generated models it describes. The engine that applies it is
:mod:`ocpprpc.translation`; the guide page "Translating between OCPP versions" is generated from it; the
coverage test proves it complete against the models (every action, every field of every nested type,
every enumerated value of each version), so a regeneration that adds a field or a value fails until the
table says what becomes of it.

The table has two steps, :data:`STEPS`: 1.2 ⇄ 1.5 and 1.5 ⇄ 1.6. A 1.2 message reaches 1.6 through 1.5
and back: 1.5 holds everything 1.2 says, so the detour adds nothing and loses nothing.

A step lists only what differs. Everything it does not name is the same on both sides, and the coverage
test checks that it really is: a field of the same JSON name, the same type (the same enumeration, the
same nested type, repeated or not), required on the receiving side only where the sending side requires
it too. Three things are generic, not listed:

* an enumerated value both versions have is kept;
* a nested object goes through the rules of its own pair of types;
* a string longer than the receiving version allows is refused, never shortened (a shortened idTag,
  configuration key or vendor id would name something else). The longer string is valid in 1.2 (whose
  WSDL bounds no string) or 1.5 (which bounds fewer than 1.6), so this is one of the two cases where a
  message going *up* can be refused; the other is a MeterValues without any reading (1.6 requires one).

Words used in the rules:

* **up** is towards 1.6 (1.2 → 1.5, 1.5 → 1.6), **down** towards 1.2.
* **lossless**: translating the result back gives the original. Lossy rules say what is not kept;
  :func:`ocpprpc.translation.translate_with_losses` reports each one that applied to a message.
* **refused**: :class:`ocpprpc.translation.NotTranslatable` names the field and the reason; nothing is
  dropped silently. Going down refuses whatever the older version cannot say; going up refuses only the
  two cases above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, Protocol

from ._base import format_datetime

__all__ = [
    "STEPS",
    "Context",
    "Convert",
    "Copy",
    "Drop",
    "EnumRule",
    "Field",
    "Fill",
    "Needed",
    "Refuse",
    "Step",
    "TypeRule",
    "Unset",
    "Value",
    "Way",
    "kept",
    "refused",
]


class Context(Protocol):
    """What a conversion function of the table may ask of the engine while it translates one object."""

    @property
    def source(self) -> Mapping[str, Any]:
        """The JSON object (of the sending version) that holds the field being converted."""
        ...

    def nested(self, value: Mapping[str, Any], lower: str, upper: str, index: int | None = None) -> dict[str, Any]:
        """``value``, an object of type ``lower`` (going up) or ``upper`` (going down), through that pair's rules."""
        ...

    def refuse(self, why: str, field: str | None = None) -> NoReturn:
        """Refuse the message: the field (or ``field`` of the object, for an adjuster) cannot be said, for ``why``."""
        ...

    def lost(self, why: str) -> None:
        """Report that this conversion did not keep something, and what (``why``)."""
        ...


Converter = Callable[[Any, Context], Any]
"""A value of the sending version → the value of the receiving one (None: leave the field out)."""

Filler = Callable[[Context], Any]
"""The value a receiving version requires where the sending version has nothing to say."""

Adjuster = Callable[[Mapping[str, Any], dict[str, Any], Context], None]
"""Run after the fields of an object: (sending object, receiving object being built, context)."""


# -- what happens to a field in one direction ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Copy:
    """The value is copied (under the other key when the names differ); nested values by their own rules."""

    why: str = ""


@dataclass(frozen=True, slots=True)
class Convert:
    """The value goes through ``function`` (a named function below); lossy ones say so in ``why``."""

    function: Converter
    lossless: bool
    why: str
    via: tuple[tuple[str, str], ...] = ()
    """Pairs of nested types (lower, upper) ``function`` passes items through (``Context.nested``)."""
    via_at: tuple[str, str] = ("[]", "[]")
    """Where those items are below the field, in the lower and the upper version (for the guide)."""


@dataclass(frozen=True, slots=True)
class Fill:
    """Copied when given; when left out, ``function`` gives the value the receiving version requires.

    Lossy when it fills: going back, the field stays set where the original had nothing.
    """

    function: Filler
    why: str


@dataclass(frozen=True, slots=True)
class Needed:
    """Copied; refused when left out or empty: the receiving version requires it, and no value would be neutral."""

    why: str


@dataclass(frozen=True, slots=True)
class Unset:
    """The sending version has no such field and the receiving one does not require it: left unset."""

    why: str


@dataclass(frozen=True, slots=True)
class Drop:
    """Left out, lossy: the receiving version has no such field, and the value can be derived again."""

    why: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """Refused when set: the receiving version cannot say it, and leaving it out would misstate the message."""

    why: str


Way = Copy | Convert | Fill | Needed | Unset | Drop | Refuse


@dataclass(frozen=True, slots=True)
class Field:
    """One field and its counterpart: ``lower`` / ``upper`` are JSON names (None: that side has no such field)."""

    lower: str | None
    upper: str | None
    up: Way
    down: Way


@dataclass(frozen=True, slots=True)
class TypeRule:
    """The fields of one pair of types (lower, upper) that are not simply the same on both sides."""

    fields: tuple[Field, ...] = ()
    adjust_up: Adjuster | None = None
    adjust_down: Adjuster | None = None
    adjusts: str = ""
    """What the adjusters do, for the guide; they never drop anything."""


# -- enumerated values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    """What one enumerated value becomes: ``to`` (None: refused), lossless or not, and why."""

    to: str | None
    lossless: bool
    why: str
    restored_by: str = ""
    """Lossless not by the value map but by the named type's adjusters (which keep the value elsewhere)."""


def kept(to: str, why: str, *, lossless: bool = True, restored_by: str = "") -> Value:
    """The value becomes ``to``."""
    return Value(to, lossless, why, restored_by)


def refused(why: str) -> Value:
    """The value cannot be said in the receiving version."""
    return Value(None, False, why)


@dataclass(frozen=True, slots=True)
class EnumRule:
    """The values of one enumeration that do not simply stay as they are, per direction."""

    up: Mapping[str, Value] = field(default_factory=dict[str, Value])
    down: Mapping[str, Value] = field(default_factory=dict[str, Value])


@dataclass(frozen=True, slots=True)
class Step:
    """What differs between two neighbouring versions ``lower`` and ``upper``."""

    lower: str
    upper: str
    new_actions: Mapping[str, str]
    """Actions ``upper`` has and ``lower`` does not, and why ``lower`` cannot carry them."""
    types: Mapping[tuple[str, str], TypeRule]
    """Rules per pair of model names (lower, upper): requests, responses and the types they nest."""
    enums: Mapping[str, EnumRule]
    """Rules per enumeration (of the same name on both sides)."""


# -- conversion functions ----------------------------------------------------------------------------------


def now_utc(context: Context) -> str:
    """The current time: 1.2 may leave out a BootNotification.conf's currentTime, 1.5 requires it."""
    return format_datetime(datetime.now(UTC))


def no_interval(context: Context) -> int:
    """0: 1.2 may leave out heartbeatInterval; 1.5 and 1.6 require it. 0 says no interval was given."""
    return 0


READING_DEFAULTS: Mapping[str, str] = {
    "context": "Sample.Periodic",
    "format": "Raw",
    "measurand": "Energy.Active.Import.Register",
    "location": "Outlet",
    "unit": "Wh",
}
"""What a 1.5 (and 1.6) reading means when an attribute is absent: the energy meter register, in Wh."""


def energy_reading(value: int, context: Context) -> list[dict[str, Any]]:
    """1.2's meter value (the energy meter reading in Wh) as 1.5's one reading with every attribute at its default."""
    return [{"value": str(value)}]


def energy_value(readings: list[Mapping[str, Any]], context: Context) -> int:
    """1.5's readings as 1.2's meter value: only one reading of the energy register in Wh can be said."""
    if len(readings) != 1:
        context.refuse(f"1.2 holds one reading per timestamp, the energy meter in Wh; this one has {len(readings)}")
    reading = readings[0]
    explicit: list[str] = []
    for attribute, default in READING_DEFAULTS.items():
        given = reading.get(attribute)
        if given is None:
            continue
        if given != default:
            context.refuse(f"1.2 meter values are {attribute} {default} only, not {given}")
        explicit.append(attribute)
    text = str(reading["value"])
    try:
        number = Decimal(text)
    except InvalidOperation:
        context.refuse(f"1.2 meter values are integers (Wh), not {text!r}")
    if not number.is_finite() or number != number.to_integral_value():
        context.refuse(f"1.2 meter values are integers (Wh), not {text!r}")
    value = int(number)
    if explicit:
        context.lost(f"the default attributes {', '.join(explicit)} are implied in 1.2, not written")
    if str(value) != text:
        context.lost(f"the reading {text!r} is written {value} in 1.2")
    return value


def flatten_transaction_data(groups: list[Mapping[str, Any]], context: Context) -> list[dict[str, Any]]:
    """1.5's transactionData (a list of TransactionData, each a list of meter values) as 1.6's one list."""
    values = [
        context.nested(meter_value, "MeterValue", "MeterValue", index)
        for group in groups
        for index, meter_value in enumerate(group.get("values") or [])
    ]
    if groups and not (len(groups) == 1 and groups[0].get("values")):
        context.lost("1.6 has one list of meter values: 1.5's grouping into TransactionData elements is not kept")
    return values


def group_transaction_data(meter_values: list[Mapping[str, Any]], context: Context) -> list[dict[str, Any]]:
    """1.6's transactionData (one list of meter values) as 1.5's: one TransactionData holding them all."""
    if not meter_values:
        return []
    return [{"values": [context.nested(value, "MeterValue", "MeterValue", i) for i, value in enumerate(meter_values)]}]


def stop_reason_down(reason: str, context: Context) -> None:
    """1.6's StopTransaction reason in 1.5, which has none: Local (1.6's meaning of no reason) is left out."""
    if reason != "Local":
        context.refuse(f"1.5 cannot say why a transaction stopped ({reason}); only Local, 1.6's default, goes")
    context.lost("the explicit reason Local is left out (1.6 reads a missing reason as Local)")
    return None


ERROR_CODES_AS_OTHER: frozenset[str] = frozenset({"InternalError", "LocalListConflict", "OverVoltage"})
"""1.6 error codes 1.5 lacks: sent as OtherError, the code in vendorErrorCode, where OCPP puts OtherError's detail."""


def error_code_down(source: Mapping[str, Any], target: dict[str, Any], context: Context) -> None:
    """A 1.6 error code 1.5 lacks: OtherError, with the 1.6 code as vendorErrorCode (refused if that is taken)."""
    code = source.get("errorCode")
    if code not in ERROR_CODES_AS_OTHER:
        return
    if source.get("vendorErrorCode") is not None or source.get("vendorId") is not None:
        context.refuse(
            f"1.5 has no error code {code}: it goes as OtherError with vendorErrorCode {code}, "
            "but this message already sets vendorId or vendorErrorCode",
            field="errorCode",
        )
    target["vendorErrorCode"] = code


def error_code_up(source: Mapping[str, Any], target: dict[str, Any], context: Context) -> None:
    """1.5's OtherError whose vendorErrorCode is one of :data:`ERROR_CODES_AS_OTHER` (no vendorId): that 1.6 code."""
    code = source.get("vendorErrorCode")
    if source.get("errorCode") == "OtherError" and source.get("vendorId") is None and code in ERROR_CODES_AS_OTHER:
        target["errorCode"] = code
        del target["vendorErrorCode"]


# -- 1.2 ⇄ 1.5 -----------------------------------------------------------------------------------------------

_NEW_IN_15 = "came with 1.5"

STEP_12_15 = Step(
    lower="1.2",
    upper="1.5",
    new_actions={
        "CancelReservation": f"1.2 has no reservations (ReserveNow / CancelReservation {_NEW_IN_15})",
        "ReserveNow": f"1.2 has no reservations (ReserveNow / CancelReservation {_NEW_IN_15})",
        "DataTransfer": f"1.2 has no vendor-specific messages (DataTransfer {_NEW_IN_15})",
        "GetConfiguration": f"1.2 can change a configuration key but not read one (GetConfiguration {_NEW_IN_15})",
        "GetLocalListVersion": f"1.2 has no local authorization list (the list {_NEW_IN_15})",
        "SendLocalList": f"1.2 has no local authorization list (the list {_NEW_IN_15})",
    },
    types={
        ("BootNotificationResponse", "BootNotificationResponse"): TypeRule(
            fields=(
                Field(
                    "currentTime",
                    "currentTime",
                    up=Fill(
                        now_utc,
                        "1.2 may leave it out, 1.5 requires it: then the time of translation (the central "
                        "system's clock is unknown; the charge point's is about as good)",
                    ),
                    down=Copy(),
                ),
                Field(
                    "heartbeatInterval",
                    "heartbeatInterval",
                    up=Fill(
                        no_interval,
                        "1.2 may leave it out, 1.5 requires it: then 0, meaning none was given, so the charge "
                        "point keeps its configured heartbeat interval (1.6 gives a zero interval that meaning for "
                        "the wait before booting again)",
                    ),
                    down=Copy(),
                ),
            ),
        ),
        ("MeterValue", "MeterValue"): TypeRule(
            fields=(
                Field(
                    "value",
                    "values",
                    up=Convert(
                        energy_reading,
                        lossless=True,
                        why="one reading with no attributes, which 1.5 defines as the energy meter register "
                        "(Energy.Active.Import.Register) in Wh: what 1.2's integer is",
                    ),
                    down=Convert(
                        energy_value,
                        lossless=False,
                        why="exactly one reading whose attributes are absent or their defaults (the energy "
                        "meter register in Wh, Sample.Periodic, Raw, Outlet) and whose value is an integer; "
                        "anything else is refused. Lossy only in form: explicit default attributes and a "
                        "number's spelling (12.0 → 12) are not kept",
                    ),
                ),
            ),
        ),
        ("MeterValuesRequest", "MeterValuesRequest"): TypeRule(
            fields=(
                Field(
                    None,
                    "transactionId",
                    up=Unset("1.2 cannot say which transaction the values belong to"),
                    down=Refuse("1.2 MeterValues cannot name a transaction"),
                ),
            ),
        ),
        ("StartTransactionRequest", "StartTransactionRequest"): TypeRule(
            fields=(
                Field(
                    None,
                    "reservationId",
                    up=Unset("1.2 has no reservations"),
                    down=Refuse("1.2 has no reservations: the transaction would not end the reservation"),
                ),
            ),
        ),
        ("StatusNotificationRequest", "StatusNotificationRequest"): TypeRule(
            fields=(
                Field(None, "info", up=Unset("1.2 has no info text"), down=Refuse("1.2 has no info text")),
                Field(
                    None,
                    "timestamp",
                    up=Unset("1.2 has no timestamp: the status is of the time it was received, as 1.5 reads it"),
                    down=Refuse("1.2 has no timestamp: the central system would date the status when received"),
                ),
                Field(None, "vendorId", up=Unset("1.2 has no vendor error"), down=Refuse("1.2 has no vendor error")),
                Field(
                    None,
                    "vendorErrorCode",
                    up=Unset("1.2 has no vendor error"),
                    down=Refuse("1.2 has no vendor error"),
                ),
            ),
        ),
        ("StopTransactionRequest", "StopTransactionRequest"): TypeRule(
            fields=(
                Field(
                    None,
                    "transactionData",
                    up=Unset("1.2 sends no meter values with StopTransaction"),
                    down=Refuse("1.2 StopTransaction carries no meter values (even an empty list: leave it unset)"),
                ),
            ),
        ),
    },
    enums={
        "ChargePointStatus": EnumRule(down={"Reserved": refused("1.2 has no reservations, so no Reserved status")}),
        "ChargePointErrorCode": EnumRule(
            down={
                code: refused(f"1.2 has no error code {code} ({_NEW_IN_15})")
                for code in ("GroundFailure", "OtherError", "OverCurrentFailure", "UnderVoltage", "WeakSignal")
            }
        ),
    },
)


# -- 1.5 ⇄ 1.6 -----------------------------------------------------------------------------------------------

_SMART_CHARGING = "1.5 has no smart charging (charging profiles came with 1.6)"
_NO_PHASE = "1.5 readings have no phase: without it a reading of one phase would read as the total"
_IDLE = "1.5 has no Idle: a charge point sends it when a TriggerMessage asks, and 1.5 has no TriggerMessage"

STEP_15_16 = Step(
    lower="1.5",
    upper="1.6",
    new_actions={
        "ClearChargingProfile": _SMART_CHARGING,
        "GetCompositeSchedule": _SMART_CHARGING,
        "SetChargingProfile": _SMART_CHARGING,
        "TriggerMessage": "1.5 cannot ask a charge point to send a message (TriggerMessage came with 1.6)",
    },
    types={
        ("BootNotificationResponse", "BootNotificationResponse"): TypeRule(
            fields=(Field("heartbeatInterval", "interval", up=Copy("renamed"), down=Copy("renamed")),),
        ),
        ("MeterValuesRequest", "MeterValuesRequest"): TypeRule(
            fields=(
                Field(
                    "values",
                    "meterValue",
                    up=Needed(
                        "renamed; refused when the 1.5 message has no meter value: 1.6 requires one, and a "
                        "MeterValues without any says nothing (its response is empty: answer it locally)"
                    ),
                    down=Copy("renamed"),
                ),
            ),
        ),
        ("MeterValue", "MeterValue"): TypeRule(
            fields=(Field("values", "sampledValue", up=Copy("renamed"), down=Copy("renamed")),),
        ),
        ("MeterValueValue", "SampledValue"): TypeRule(
            fields=(Field(None, "phase", up=Unset("1.5 readings have no phase"), down=Refuse(_NO_PHASE)),),
        ),
        ("RemoteStartTransactionRequest", "RemoteStartTransactionRequest"): TypeRule(
            fields=(
                Field(
                    None,
                    "chargingProfile",
                    up=Unset("1.5 has no charging profiles"),
                    down=Refuse(_SMART_CHARGING + ": the transaction would start without its limits"),
                ),
            ),
        ),
        ("SendLocalListRequest", "SendLocalListRequest"): TypeRule(
            fields=(
                Field("localAuthorisationList", "localAuthorizationList", up=Copy("renamed"), down=Copy("renamed")),
                Field(
                    "hash",
                    None,
                    up=Drop("1.6 has no list hash: a checksum of the list, which 1.6 dropped with HashError"),
                    down=Unset("1.6 has no list hash"),
                ),
            ),
        ),
        ("AuthorisationData", "AuthorizationData"): TypeRule(),
        ("SendLocalListResponse", "SendLocalListResponse"): TypeRule(
            fields=(
                Field(
                    "hash",
                    None,
                    up=Drop("1.6 has no list hash: a checksum of the list, which 1.6 dropped with HashError"),
                    down=Unset("1.6 has no list hash"),
                ),
            ),
        ),
        ("StatusNotificationRequest", "StatusNotificationRequest"): TypeRule(
            adjust_up=error_code_up,
            adjust_down=error_code_down,
            adjusts="1.6's error codes InternalError, LocalListConflict and OverVoltage go to 1.5 as OtherError "
            "with the 1.6 code as vendorErrorCode (OCPP puts OtherError's detail there); refused when the "
            "message already sets vendorId or vendorErrorCode. Going up, a 1.5 OtherError whose "
            "vendorErrorCode is one of those codes (and no vendorId) becomes that 1.6 code: lossless both ways",
        ),
        ("StopTransactionRequest", "StopTransactionRequest"): TypeRule(
            fields=(
                Field(
                    "transactionData",
                    "transactionData",
                    up=Convert(
                        flatten_transaction_data,
                        lossless=False,
                        why="1.5's TransactionData elements, each a list of meter values, become 1.6's one list; "
                        "lossy only when there are several TransactionData elements, or an empty one",
                        via=(("MeterValue", "MeterValue"),),
                        via_at=("[].values[]", "[]"),
                    ),
                    down=Convert(
                        group_transaction_data,
                        lossless=True,
                        why="one TransactionData element holding every meter value (none when the list is empty)",
                        via=(("MeterValue", "MeterValue"),),
                        via_at=("[].values[]", "[]"),
                    ),
                ),
                Field(
                    None,
                    "reason",
                    up=Unset("1.5 cannot say why a transaction stopped; 1.6 reads a missing reason as Local"),
                    down=Convert(
                        stop_reason_down,
                        lossless=False,
                        why="Local, 1.6's meaning of a missing reason, is left out (lossy only in form); any "
                        "other reason is refused: 1.5 cannot say it",
                    ),
                ),
            ),
        ),
    },
    enums={
        "ChargePointStatus": EnumRule(
            up={
                "Occupied": kept(
                    "Charging",
                    "1.6 split Occupied into Preparing, Charging, SuspendedEV, SuspendedEVSE and Finishing, and "
                    "a 1.5 message does not say which. Charging is the in-use state: the one a transaction "
                    "spends most of an occupancy in, and how 1.6 platforms count a connector in use; "
                    "Preparing or Finishing would claim a transaction is about to start or has ended",
                ),
            },
            down={
                "Charging": kept("Occupied", "1.5's one in-use state"),
                **{
                    status: kept("Occupied", "1.5's one in-use state: which part of the use is lost", lossless=False)
                    for status in ("Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing")
                },
            },
        ),
        "ChargePointErrorCode": EnumRule(
            up={"Mode3Error": kept("EVCommunicationError", "1.6 renamed it (and widened it to any EV protocol)")},
            down={
                "EVCommunicationError": kept("Mode3Error", "1.5's name of it"),
                **{
                    code: kept(
                        "OtherError",
                        "with the 1.6 code as vendorErrorCode (see StatusNotification)",
                        restored_by="StatusNotificationRequest",
                    )
                    for code in sorted(ERROR_CODES_AS_OTHER)
                },
            },
        ),
        "ConfigurationStatus": EnumRule(
            down={
                "RebootRequired": kept(
                    "Accepted",
                    "the change is accepted; 1.5 cannot say it takes effect after a reboot",
                    lossless=False,
                )
            }
        ),
        "DiagnosticsStatus": EnumRule(
            down={
                "Idle": refused(_IDLE),
                "Uploading": refused("1.5 reports only the outcome (Uploaded or UploadFailed), which follows"),
            }
        ),
        "FirmwareStatus": EnumRule(
            down={
                "Idle": refused(_IDLE),
                **{
                    status: refused(
                        "1.5 reports only outcomes (Downloaded or DownloadFailed, Installed or InstallationFailed), "
                        "which follow"
                    )
                    for status in ("Downloading", "Installing")
                },
            }
        ),
        "Location": EnumRule(
            down={location: refused(f"1.5 has no location {location}") for location in ("Cable", "EV")}
        ),
        "Measurand": EnumRule(
            down={
                measurand: refused(f"1.5 has no measurand {measurand}")
                for measurand in ("Current.Offered", "Frequency", "Power.Factor", "Power.Offered", "RPM", "SoC")
            }
        ),
        "ReadingContext": EnumRule(
            down={
                "Other": refused("1.5 has no reading context Other"),
                "Trigger": refused("1.5 has no TriggerMessage, so no reading context Trigger"),
            }
        ),
        "RegistrationStatus": EnumRule(
            down={
                "Pending": kept(
                    "Rejected",
                    "1.5 has no Pending. Rejected makes a 1.5 charge point send BootNotification again after "
                    "heartbeatInterval seconds and nothing else meanwhile, which is what Pending asks of a 1.6 "
                    "one; unlike Pending it does not invite the central system's requests in between",
                    lossless=False,
                )
            }
        ),
        "UnitOfMeasure": EnumRule(
            up={"Amp": kept("A", "1.6 renamed it"), "Volt": kept("V", "1.6 renamed it")},
            down={
                "A": kept("Amp", "1.5's name of it"),
                "V": kept("Volt", "1.5's name of it"),
                **{
                    unit: refused(f"1.5 has no unit {unit} (a value converted to another unit would be another value)")
                    for unit in ("Fahrenheit", "K", "Percent", "VA", "kVA")
                },
            },
        ),
        "UnlockStatus": EnumRule(
            up={
                "Accepted": kept(
                    "Unlocked", "1.6 reports the outcome (Unlocked) where 1.5 reported the acceptance of the request"
                ),
                "Rejected": kept("UnlockFailed", "1.6 reports the outcome: not unlocked"),
            },
            down={
                "Unlocked": kept("Accepted", "see going up"),
                "UnlockFailed": kept("Rejected", "see going up"),
                "NotSupported": kept(
                    "Rejected",
                    "1.5 cannot say the charge point has no connector lock, only that it did not unlock",
                    lossless=False,
                ),
            },
        ),
        "UpdateStatus": EnumRule(
            up={
                "HashError": kept(
                    "Failed",
                    "1.6 dropped the list hash and HashError with it: the update failed",
                    lossless=False,
                )
            }
        ),
    },
)


STEPS: tuple[Step, ...] = (STEP_12_15, STEP_15_16)
"""The steps, oldest first: 1.2 ⇄ 1.5, then 1.5 ⇄ 1.6."""
