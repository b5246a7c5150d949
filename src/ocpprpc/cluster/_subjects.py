"""The cluster's names on NATS: subjects, key-value buckets, the event stream, and how an id becomes a token.

A charge point id may hold any printable character but ``/`` and ``\\`` (``*``, ``>``, ``.`` and non-ASCII
letters included), while a NATS subject token cannot hold ``.``, ``*``, ``>`` or white space, and a
key-value key only ``[-/_=.A-Za-z0-9]``. So every id (and every message id in a key) goes on NATS as a
*token*: its UTF-8 bytes, each of ``A-Z a-z 0-9 - _`` kept, every other byte written ``=XX`` (two
upper-case hex digits). ``CP1`` stays ``CP1``, ``CP.1`` is ``CP=2E1``, ``Büro`` is ``B=C3=BCro``. The
mapping is one-to-one, so two ids never share a subject, and a backend in any language decodes it in
three lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

__all__ = ["Names", "decode_token", "encode_token", "version_token"]

_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_ESCAPE = re.compile(r"=([0-9A-F]{2})")
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,32}")


def encode_token(text: str) -> str:
    """``text`` as one NATS subject token and key-value key part (see the module docstring)."""
    if text.isascii() and all(ord(c) in _KEPT for c in text):
        return text
    return "".join(chr(b) if b in _KEPT else f"={b:02X}" for b in text.encode("utf-8", "surrogatepass"))


def decode_token(token: str) -> str:
    """The text :func:`encode_token` made ``token`` from."""
    if "=" not in token:
        return token
    raw = bytearray()
    position = 0
    for match in _ESCAPE.finditer(token):
        raw += token[position : match.start()].encode("ascii")
        raw.append(int(match.group(1), 16))
        position = match.end()
    raw += token[position:].encode("ascii")
    return raw.decode("utf-8", "surrogatepass")


def version_token(version: str) -> str:
    """An OCPP version as a subject token: ``"1.6"`` → ``"v16"``, ``"2.0.1"`` → ``"v201"``."""
    return "v" + version.replace(".", "")


@dataclass(frozen=True, slots=True)
class Names:
    """Every subject, bucket and stream name of one cluster, derived from its ``prefix`` (default ``ocpprpc``).

    Clusters with different prefixes share a NATS deployment without seeing each other.
    """

    prefix: str = "ocpprpc"

    def __post_init__(self) -> None:
        if not isinstance(self.prefix, str) or not _PREFIX.fullmatch(self.prefix):
            raise UsageError(f"a cluster prefix is 1 to 32 of A-Z a-z 0-9 _ -, not {self.prefix!r}")

    def call(self, charge_point_id: str) -> str:
        """Requests to call a charge point go here; the node holding its connection answers."""
        return f"{self.prefix}.call.{encode_token(charge_point_id)}"

    def ping(self, node: str) -> str:
        """A node answers requests here while it is up (callers check a node they wait for)."""
        return f"{self.prefix}.node.{encode_token(node)}.ping"

    def work(self, version: str, action: str) -> str:
        """Inbound calls a node hands to the worker pool (queue group :attr:`worker_queue`), per version and action."""
        return f"{self.prefix}.work.{version_token(version)}.{encode_token(action)}"

    def worker_ping(self, worker: str) -> str:
        """A worker answers requests here while it is up (a node waiting for its answer checks)."""
        return f"{self.prefix}.worker.{encode_token(worker)}.ping"

    @property
    def worker_queue(self) -> str:
        """The NATS queue group of the workers: each forwarded call reaches one worker of those subscribed."""
        return "workers"

    def beat(self, node: str) -> str:
        """A node's heartbeats (core NATS, no JetStream: liveness holds while a NATS cluster elects leaders)."""
        return f"{self.prefix}.node.{encode_token(node)}.beat"

    @property
    def beats(self) -> str:
        """Every node's heartbeats."""
        return f"{self.prefix}.node.*.beat"

    def event(self, version: str, action: str, charge_point_id: str) -> str:
        """The subject of one inbound call's event."""
        return f"{self.prefix}.events.{version_token(version)}.{encode_token(action)}.{encode_token(charge_point_id)}"

    def events(self, version: str | None = None, action: str | None = None, charge_point_id: str | None = None) -> str:
        """A filter subject for events: each part left out (None) matches any."""
        return ".".join(
            [
                self.prefix,
                "events",
                "*" if version is None else version_token(version),
                "*" if action is None else encode_token(action),
                "*" if charge_point_id is None else encode_token(charge_point_id),
            ]
        )

    @property
    def events_stream(self) -> str:
        """The JetStream stream holding the events (subjects ``<prefix>.events.>``)."""
        return f"{self.prefix}_events"

    @property
    def presence_bucket(self) -> str:
        """Key-value bucket: which node holds each charge point (key: the charge point id's token)."""
        return f"{self.prefix}_presence"

    @property
    def nodes_bucket(self) -> str:
        """Key-value bucket: the nodes' heartbeats (key: the node id's token)."""
        return f"{self.prefix}_nodes"

    @property
    def answers_bucket(self) -> str:
        """Key-value bucket: answers to transaction messages (key: ``<charge point>.<action>.<message id>``)."""
        return f"{self.prefix}_answers"

    def answer_key(self, charge_point_id: str, action: str, message_id: str) -> str:
        return f"{encode_token(charge_point_id)}.{action}.{encode_token(message_id)}"
