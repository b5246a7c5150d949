"""ocpprpc: typed OCPP 1.2 / 1.5 / 1.6 / 2.0.1 / 2.1 RPC over WebSocket (OCPP-J) and SOAP (OCPP-S, 1.x).

Subclass :class:`ChargePoint` or :class:`CentralSystem`, mark handler methods with :func:`on`, call the
peer with ``await role.call(request_model)``, and connect through a transport from
:mod:`ocpprpc.transports`. Messages live in :mod:`ocpprpc.messages` (``v12``, ``v15``, ``v16``, ``v201``,
``v21``); the seam a transport plugs into is :mod:`ocpprpc.connection`.
"""

from ._client import Backoff
from ._dispatch import after, on
from ._link import NotConnected, RawAnswer
from ._versions import ALL_VERSIONS, DEFAULT_VERSIONS
from .errors import (
    ActionNotImplemented,
    ActionNotSupported,
    CallTimeout,
    ConnectionClosed,
    ErrorCode,
    FormationViolation,
    FormatViolation,
    GenericError,
    InternalError,
    MessageTypeNotSupported,
    OccurrenceConstraintViolation,
    OcppError,
    OcppRpcError,
    PropertyConstraintViolation,
    ProtocolError,
    RpcFrameworkError,
    SecurityError,
    TypeConstraintViolation,
    UnreadableAnswer,
    UsageError,
)
from .messages._base import ActionSpec, OcppModel, OcppRequest, OcppVersion, Side
from .outbox import MemoryOutbox, OutboxError, OutboxMessage, OutboxStore, SqliteOutbox
from .roles import CSMS, TRANSACTION_ACTIONS, CentralSystem, ChargePoint, ChargingStation, Role
from .security import SecurityProfile
from .server import CentralSystemServer, UnknownChargePoint

__version__ = "0.1.0"

__all__ = [
    "ALL_VERSIONS",
    "CSMS",
    "DEFAULT_VERSIONS",
    "TRANSACTION_ACTIONS",
    "ActionNotImplemented",
    "ActionNotSupported",
    "ActionSpec",
    "Backoff",
    "CallTimeout",
    "CentralSystem",
    "CentralSystemServer",
    "ChargePoint",
    "ChargingStation",
    "ConnectionClosed",
    "ErrorCode",
    "FormatViolation",
    "FormationViolation",
    "GenericError",
    "InternalError",
    "MemoryOutbox",
    "MessageTypeNotSupported",
    "NotConnected",
    "OccurrenceConstraintViolation",
    "OcppError",
    "OcppModel",
    "OcppRequest",
    "OcppRpcError",
    "OcppVersion",
    "OutboxError",
    "OutboxMessage",
    "OutboxStore",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RawAnswer",
    "Role",
    "RpcFrameworkError",
    "SecurityError",
    "SecurityProfile",
    "Side",
    "SqliteOutbox",
    "TypeConstraintViolation",
    "UnknownChargePoint",
    "UnreadableAnswer",
    "UsageError",
    "__version__",
    "after",
    "on",
]
