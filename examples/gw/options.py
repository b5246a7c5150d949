"""The gateway app's command line and the files it names, checked before anything starts.

Everything an operator can get wrong is found here, with the standard library only (so a mistake is
reported at once, before the library is even imported), and reported as a usage error: exit status 2,
the usage line and what is wrong, on standard error.

Files (JSON, so a deployment tool can write them without a format of ours to learn):

* ``--credentials`` / ``--downstream-credentials``: an object whose keys are charge point ids and whose
  values are either the password (the user name is then the id, as OCPP's security profiles 1 and 2 have
  it) or ``{"user": "...", "password": "..."}``. ``--credentials`` is keyed by the id the central system
  knows (after ``--identities``), ``--downstream-credentials`` by the id the charger presents. A file
  others may read or write is used, with a warning: it holds passwords.
* ``--identities``: an object, downstream id → upstream id. Two chargers mapped to one upstream id
  would share one connection to the central system, so that is refused.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import ssl
import stat
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

DESCRIPTION = """\
A protocol gateway: OCPP 1.2 / 1.5 charge points, over SOAP (OCPP-S) or WebSocket (OCPP-J), reach an
OCPP-J 1.6 central system as ordinary 1.6 charge points. Each charger gets its own upstream connection
to <upstream>/<id>; transaction messages wait in --store while the central system is unreachable."""

EPILOG = """\
HOST:PORT: HOST may be left out (":9000" listens on 127.0.0.1 only); PORT 0 picks a free port; the
listeners take an optional path (":9000/ocpp": OCPP-J charge points connect to ws://host:9000/ocpp/<id>).
Credentials files: JSON {"CP1": "password"} (user name: the id) or {"CP1": {"user": "...", "password":
"..."}}; --credentials is keyed by the id the central system knows. Identities file: JSON {"downstream
id": "upstream id"}. SIGINT / SIGTERM stop the gateway; queued messages stay in --store."""


@dataclass(frozen=True)
class Listen:
    """Where a listener binds: ``host``, ``port`` and, for the OCPP listeners, the path before the id."""

    host: str
    port: int
    path: str = "/"


@dataclass
class Options:
    """The gateway's configuration, checked."""

    upstream: str
    soap: Listen | None
    ws: Listen | None
    status: Listen | None
    credentials: dict[str, tuple[str, str]] | None
    downstream_credentials: dict[str, tuple[str, str]] | None
    identities: dict[str, str] | None
    store: str | None
    ca: str | None
    ssl: ssl.SSLContext | None
    log_level: str
    notes: list[str] = field(default_factory=list[str])
    """Warnings found while reading the files, logged once logging is set up."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gateway.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--listen-soap", metavar="HOST:PORT[/PATH]", help="serve OCPP-S (SOAP) charge points here")
    p.add_argument("--listen-ws", metavar="HOST:PORT[/PATH]", help="serve OCPP-J (WebSocket) charge points here")
    p.add_argument("--upstream", required=True, metavar="URL", help="the central system: ws[s]://host:port/path")
    p.add_argument("--credentials", metavar="FILE", help="upstream HTTP Basic credentials per charge point (JSON)")
    p.add_argument(
        "--downstream-credentials", metavar="FILE", help="credentials chargers must present to the gateway (JSON)"
    )
    p.add_argument("--identities", metavar="FILE", help="downstream id -> upstream id (JSON object)")
    p.add_argument("--store", metavar="PATH", help="the SQLite file where transaction messages wait (default: memory)")
    p.add_argument("--ca", metavar="FILE", help="CA certificates (PEM) to trust for a wss:// upstream")
    p.add_argument("--status", metavar="HOST:PORT", help="serve GET /status (JSON) and GET /healthz here")
    p.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="default INFO")
    return p


def parse(argv: Sequence[str]) -> Options:
    """The options of ``argv``; a usage error (exit status 2) for anything wrong, files included."""
    p = parser()
    args = p.parse_args(argv)
    try:
        return _checked(args)
    except ValueError as problem:
        p.error(str(problem))


def _checked(args: argparse.Namespace) -> Options:
    if args.listen_soap is None and args.listen_ws is None:
        raise ValueError("give at least one of --listen-soap and --listen-ws")
    upstream = upstream_url(args.upstream)
    notes: list[str] = []
    soap = listen_address(args.listen_soap, "--listen-soap") if args.listen_soap is not None else None
    ws = listen_address(args.listen_ws, "--listen-ws") if args.listen_ws is not None else None
    status = listen_address(args.status, "--status", path=False) if args.status is not None else None
    credentials = read_credentials(args.credentials, "--credentials", notes) if args.credentials else None
    downstream = (
        read_credentials(args.downstream_credentials, "--downstream-credentials", notes)
        if args.downstream_credentials
        else None
    )
    identities = read_identities(args.identities) if args.identities else None
    context = None
    if args.ca is not None:
        if not upstream.startswith("wss://"):
            raise ValueError("--ca is for a wss:// upstream")
        try:
            context = ssl.create_default_context(cafile=args.ca)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"--ca {args.ca}: not a readable PEM CA file ({error})") from None
    if args.store is not None and not Path(args.store).resolve().parent.is_dir():
        raise ValueError(f"--store {args.store}: its directory does not exist")
    if args.store is None:
        notes.append(
            "no --store: messages waiting for the central system are kept in memory, lost if the gateway stops"
        )
    return Options(
        upstream=upstream,
        soap=soap,
        ws=ws,
        status=status,
        credentials=credentials,
        downstream_credentials=downstream,
        identities=identities,
        store=args.store,
        ca=args.ca,
        ssl=context,
        log_level=args.log_level,
        notes=notes,
    )


def upstream_url(text: str) -> str:
    """A ``ws://`` / ``wss://`` URL with a host, no credentials in it (they go in ``--credentials``)."""
    try:
        parts = urllib.parse.urlsplit(text)
        _ = parts.port  # a port that is not a number raises here
    except ValueError as error:
        raise ValueError(f"--upstream {text!r}: {error}") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"--upstream {text!r}: the central system is an OCPP-J URL, ws://host[:port]/path or wss://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("--upstream: put credentials in --credentials FILE, not in the URL")
    if parts.query or parts.fragment:
        raise ValueError(f"--upstream {text!r}: no query or fragment (each charge point's id is appended to the path)")
    return text


def listen_address(text: str, option: str, *, path: bool = True) -> Listen:
    """``HOST:PORT[/PATH]``, ``:PORT`` (127.0.0.1) or ``[IPv6]:PORT``."""
    rest = text
    where = "/"
    if path:
        slash = rest.find("/", rest.find("]") + 1)
        if slash >= 0:
            rest, where = rest[:slash], rest[slash:]
    if rest.startswith("["):
        host, bracket, port_text = rest[1:].partition("]")
        if not bracket or not port_text.startswith(":"):
            raise ValueError(f"{option} {text!r}: not HOST:PORT")
        port_text = port_text[1:]
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            host, port_text = "", rest
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"{option} {text!r}: not HOST:PORT with a port from 0 to 65535")
    host = host or DEFAULT_HOST
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{option} {text!r}: {host} is not an IPv6 address (write [::1]:9000)") from None
    if any(c.isspace() for c in host):
        raise ValueError(f"{option} {text!r}: a host holds no white space")
    return Listen(host, int(port_text), "/" + where.strip("/"))


def _read_json_object(path: str, option: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{option} {path}: cannot read it ({error})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{option} {path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{option} {path}: a JSON object is expected, id -> ...")
    return data  # pyright: ignore[reportUnknownVariableType]


def read_credentials(path: str, option: str, notes: list[str]) -> dict[str, tuple[str, str]]:
    """``{id: (user, password)}`` from the file; a note when others may read or change it."""
    found: dict[str, tuple[str, str]] = {}
    for charge_point_id, value in _read_json_object(path, option).items():
        pair = _user_and_password(charge_point_id, value)
        if pair is None:
            raise ValueError(
                f'{option} {path}: {charge_point_id!r}: give "password" or {{"user": "...", "password": "..."}}'
                " (a user name is not empty and holds no colon)"
            )
        found[charge_point_id] = pair
    if not found:
        raise ValueError(f"{option} {path}: no charge point in it")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        notes.append(f"{option} {path} holds passwords and others may read or change it: chmod 600 {path}")
    return found


def _user_and_password(charge_point_id: str, value: object) -> tuple[str, str] | None:
    """``"password"`` (the user name is the id) or ``{"user": ..., "password": ...}``; None if neither."""
    if isinstance(value, str):
        return (charge_point_id, value)
    if not isinstance(value, dict):
        return None
    entry: dict[str, object] = value  # pyright: ignore[reportUnknownVariableType]
    user, password = entry.get("user", charge_point_id), entry.get("password")
    if set(entry) - {"user", "password"} or not isinstance(user, str) or not isinstance(password, str):
        return None
    return (user, password) if user and ":" not in user else None


def read_identities(path: str) -> dict[str, str]:
    """``{downstream id: upstream id}``; two chargers mapped to one upstream id are refused."""
    identities: dict[str, str] = {}
    taken: dict[str, str] = {}
    for downstream, upstream in _read_json_object(path, "--identities").items():
        if not isinstance(upstream, str) or not upstream:
            raise ValueError(f"--identities {path}: {downstream!r} maps to {upstream!r}, not an id")
        if upstream in taken:
            raise ValueError(
                f"--identities {path}: {taken[upstream]!r} and {downstream!r} both map to {upstream!r}"
                " (one upstream connection each)"
            )
        taken[upstream] = downstream
        identities[downstream] = upstream
    return identities
