"""OCPP-S over real HTTP on 127.0.0.1: every operation both ways, faults, identity, addresses, outages."""

from __future__ import annotations

import asyncio
import base64
import ssl

import aiohttp
import pytest

from ocpprpc import (
    ActionNotSupported,
    CentralSystemServer,
    ConnectionClosed,
    NotConnected,
    OcppError,
    OcppModel,
    Side,
)
from ocpprpc._versions import VERSIONS
from ocpprpc.messages import v15, v16
from ocpprpc.messages.examples import example
from ocpprpc.transports import soap

from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .timing import FAST

CS16 = "urn://Ocpp/Cs/2015/10/"
CP16 = "urn://Ocpp/Cp/2015/10/"


@pytest.mark.parametrize("version", ["1.2", "1.5", "1.6"])
async def test_every_operation_round_trips_over_http_in_both_directions(version: str) -> None:
    spec = VERSIONS[version]
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server, path="/ocpp/cs") as cs_endpoint:
        cp = EchoChargePoint("CP-" + version, version)
        async with soap.connect(cp, cs_endpoint.url):
            for action in spec.initiated_by(Side.CHARGE_POINT).values():
                request = example(action.request)
                response: OcppModel = await cp.call(request)
                assert response == example(action.response), action.name
            cs_role = server[cp.id]
            assert [type(r) for r in cs_role.received] == [
                a.request for a in spec.initiated_by(Side.CHARGE_POINT).values()
            ]
            assert cs_role.received == [example(a.request) for a in spec.initiated_by(Side.CHARGE_POINT).values()]
            for action in spec.initiated_by(Side.CENTRAL_SYSTEM).values():
                response = await server.call(cp.id, example(action.request))
                assert response == example(action.response), action.name
            assert cp.received == [example(a.request) for a in spec.initiated_by(Side.CENTRAL_SYSTEM).values()]


async def test_one_url_serves_several_versions_picked_by_the_body_namespace() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint:
        old, new = EchoChargePoint("OLD", "1.5"), EchoChargePoint("NEW", "1.6")
        async with soap.connect(old, endpoint.url), soap.connect(new, endpoint.url):
            await old.call(v15.HeartbeatRequest())
            await new.call(v16.HeartbeatRequest())
            assert server["OLD"].version == "1.5"
            assert server["NEW"].version == "1.6"


async def test_the_central_system_calls_each_charge_point_at_the_address_it_announced() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint:
        a, b = EchoChargePoint("A", "1.6"), EchoChargePoint("B", "1.6")
        async with soap.connect(a, endpoint.url) as client_a, soap.connect(b, endpoint.url):
            await a.call(v16.HeartbeatRequest())
            await b.call(v16.HeartbeatRequest())
            await server.call("B", v16.ResetRequest(type="Soft"))
            assert [type(r) for r in b.received] == [v16.ResetRequest] and a.received == []
            link = server["A"]._link
            assert isinstance(link, soap.SoapLink) and link.peer_url == client_a.from_url


async def test_a_handler_error_comes_back_as_a_soap_fault_with_its_code() -> None:
    from ocpprpc import CentralSystem

    server = CentralSystemServer(CentralSystem)  # no handlers at all
    async with soap.serve(server) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url):
            with pytest.raises(ActionNotSupported) as exc:
                await cp.call(v16.HeartbeatRequest())
            assert exc.value.remote
            bad = await cp.call_raw("Authorize", {"idTag": "X" * 30})
            assert bad.error is not None and bad.error.code == "TypeConstraintViolation" and bad.error.remote


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (b"not xml at all", "FormationViolation", 400),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "FormationViolation", 400),
        (
            b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            b'<heartbeatRequest xmlns="urn://Nope/"/></s:Body></s:Envelope>',
            "NotImplemented",
            None,
        ),
        (
            b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            b'<heartbeatRequest xmlns="urn://Ocpp/Cs/2015/10/"/></s:Body></s:Envelope>',
            "ProtocolError",
            400,
        ),
    ],
    ids=["not-xml", "doctype", "wrong-namespace", "no-identity"],
)
async def test_bad_requests_get_a_fault_and_the_server_goes_on(body: bytes, code: str, status: int | None) -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint, aiohttp.ClientSession() as http:
        async with http.post(endpoint.url, data=body, headers={"Content-Type": "application/soap+xml"}) as response:
            text = await response.text()
            if status is not None:
                assert response.status == status
        assert "Fault" in text and code in text
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url):
            await cp.call(v16.HeartbeatRequest())


async def test_oversize_bodies_are_refused() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with (
        soap.serve(server, max_message_size=2048) as endpoint,
        aiohttp.ClientSession() as http,
        http.post(endpoint.url, data=b"<x>" + b"a" * 10_000 + b"</x>") as response,
    ):
        assert response.status == 400
        assert "FormationViolation" in await response.text()


async def test_transaction_messages_wait_while_the_central_system_is_down_and_arrive_in_order() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    endpoint = await soap.serve(server).start()
    cp = EchoChargePoint("CP1", "1.6")
    async with soap.connect(cp, endpoint.url, **FAST):
        await cp.call(example(v16.StartTransactionRequest))
        await endpoint.close()
        meter: list[asyncio.Task[OcppModel]] = [
            asyncio.create_task(cp.call(example(v16.MeterValuesRequest))) for _ in range(3)
        ]
        stop = asyncio.create_task(cp.call(example(v16.StopTransactionRequest)))
        await asyncio.sleep(0.3)
        assert cp.pending_transaction_messages == 4
        with pytest.raises(ConnectionClosed):
            await cp.call(v16.HeartbeatRequest())
        fresh = CentralSystemServer(EchoCentralSystem)
        async with soap.serve(fresh, port=endpoint.port):  # the port stays known after closing
            async with asyncio.timeout(5):
                await asyncio.gather(*meter, stop)
            received = [type(r).__name__ for r in fresh["CP1"].received]
    assert received == ["MeterValuesRequest"] * 3 + ["StopTransactionRequest"]


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("FooBar", {"a": 1}, "NotImplemented"),
        ("Authorize", {"idTag": "A", "color": "red"}, "PropertyConstraintViolation"),
        ("StatusNotification", {"connectorId": "one", "errorCode": "NoError", "status": "Available"}, None),
        ("Authorize", {}, "OccurenceConstraintViolation"),
    ],
)
async def test_unchecked_requests_reach_the_peer_as_sent_and_get_its_fault(
    action: str, payload: dict[str, object], code: str | None
) -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url):
            answer = await cp.call_raw(action, payload)
            assert answer.error is not None and answer.error.remote and answer.payload is None
            # "one" is no integer: the peer sees text where a number belongs
            assert answer.error.code == (code or "TypeConstraintViolation")
            with pytest.raises(OcppError):
                answer.result()
            await cp.call(v16.HeartbeatRequest())


def soap_request(charge_point_id: str, body: str, *, header: str = "", version_ns: str = CS16) -> bytes:
    """A request envelope written by hand: ``body`` inside the Body, ``header`` after the identity."""
    return (
        f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"'
        f' xmlns:tns="{version_ns}"><s:Header><tns:chargeBoxIdentity>{charge_point_id}</tns:chargeBoxIdentity>'
        f"{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def basic_auth(credentials: tuple[str, str] | None) -> dict[str, str]:
    """The Authorization header of HTTP Basic ``credentials`` (none for None)."""
    if credentials is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(":".join(credentials).encode()).decode()}


def _accept_own_password(charge_point_id: str, username: str, password: str) -> bool:
    return username == charge_point_id and password == f"secret-{charge_point_id}"


@pytest.mark.parametrize(
    ("credentials", "allowed"),
    [
        (("CP1", "secret-CP1"), True),
        (None, False),
        (("CP1", "wrong"), False),
        (("CP2", "secret-CP2"), False),  # another charge point's valid credentials cannot speak as CP1
    ],
    ids=["right", "missing", "wrong", "another-charge-point"],
)
async def test_basic_auth_is_checked_against_the_charge_box_identity(
    credentials: tuple[str, str] | None, allowed: bool
) -> None:
    from ocpprpc import UnreadableAnswer

    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server, auth=_accept_own_password) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, auth=credentials):
            if allowed:
                await cp.call(v16.HeartbeatRequest())
                assert "CP1" in server
            else:
                # The HTTP layer's 401 is no OCPP answer (an outbox keeps its message), though a Fault says why.
                with pytest.raises(UnreadableAnswer, match=r"HTTP 401.*SecurityError"):
                    await cp.call(v16.HeartbeatRequest())
                assert "CP1" not in server
        async with aiohttp.ClientSession() as http:
            boot = soap_request("CP1", "<tns:heartbeatRequest/>")
            async with http.post(endpoint.url, data=boot, headers=basic_auth(credentials)) as response:
                assert response.status == (200 if allowed else 401)
                text = await response.text()
                assert ("heartbeatResponse" if allowed else "SecurityError") in text
                if not allowed:
                    assert response.headers["WWW-Authenticate"].startswith("Basic")
        async with (
            aiohttp.ClientSession() as http,
            http.post(endpoint.url, data=b"<x/>") as response,  # unreadable: refused before any identity
        ):
            assert response.status == 400


async def test_https_on_both_sides_with_a_self_signed_certificate(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    serving, trusting = tls
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server, ssl=serving, client_ssl=trusting) as endpoint:
        assert endpoint.url.startswith("https://")
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, ssl=trusting, server_ssl=serving) as client:
            assert client.from_url.startswith("https://")
            await cp.call(v16.HeartbeatRequest())
            await server.call("CP1", v16.ResetRequest(type="Soft"))  # the CS calls back over https
            assert [type(r) for r in cp.received] == [v16.ResetRequest]
        stranger = EchoChargePoint("CP2", "1.6")
        with pytest.raises(NotConnected) as refused:  # does not trust the certificate: never connected, as over wss
            async with soap.connect(stranger, endpoint.url, open_timeout=0.5):
                pass
        assert isinstance(refused.value.last_error, ssl.SSLError)


async def test_a_charge_point_that_could_not_be_called_is_callable_again_once_it_speaks() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint:
        first = EchoChargePoint("CP1", "1.6")
        async with soap.connect(first, endpoint.url):
            await first.call(v16.HeartbeatRequest())
        with pytest.raises(ConnectionClosed):  # its remote action port is gone
            await server.call("CP1", v16.ResetRequest(type="Soft"))
        again = EchoChargePoint("CP1", "1.6")
        async with soap.connect(again, endpoint.url):  # back, on another port
            await again.call(v16.HeartbeatRequest())
            await server.call("CP1", v16.ResetRequest(type="Soft"))
            assert [type(r) for r in again.received] == [v16.ResetRequest]


async def test_a_silent_soap_charge_point_is_unregistered_after_the_idle_timeout() -> None:
    events: list[str] = []
    server = CentralSystemServer(EchoCentralSystem, on_disconnect=lambda role: events.append(f"-{role.id}"))
    async with soap.serve(server, idle_timeout=0.8) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url):
            await cp.call(v16.HeartbeatRequest())
            assert "CP1" in server
            for _ in range(4):  # a charge point that keeps talking stays registered, well past idle_timeout
                await asyncio.sleep(0.3)
                await cp.call(v16.HeartbeatRequest())
            assert "CP1" in server and events == []
            async with asyncio.timeout(3):
                while "CP1" in server:
                    await asyncio.sleep(0.05)
            assert events == ["-CP1"]
            await cp.call(v16.HeartbeatRequest())
            assert "CP1" in server


def _accept_the_central_system(charge_point_id: str, username: str, password: str) -> bool:
    return (username, password) == ("central", f"for-{charge_point_id}")


def _credentials_for(charge_point_id: str) -> tuple[str, str]:
    return ("central", f"for-{charge_point_id}")


@pytest.mark.parametrize(
    "client_auth", [("central", "for-CP1"), _credentials_for], ids=["one-pair", "per-charge-point"]
)
async def test_the_remote_action_port_checks_credentials_as_the_central_system_does(
    client_auth: soap.ClientAuth,
) -> None:
    from ocpprpc import UnreadableAnswer

    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server, client_auth=client_auth) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, server_auth=_accept_the_central_system) as client:
            await cp.call(v16.HeartbeatRequest())
            await server.call("CP1", v16.ResetRequest(type="Soft"))  # the central system presents its credentials
            reset = soap_request(
                "CP1", "<tns:resetRequest><tns:type>Hard</tns:type></tns:resetRequest>", version_ns=CP16
            )
            async with aiohttp.ClientSession() as http:
                for credentials in (None, ("central", "guess"), ("central", "for-CP2")):
                    async with http.post(client.from_url, data=reset, headers=basic_auth(credentials)) as response:
                        assert response.status == 401 and "SecurityError" in await response.text()
                        assert response.headers["WWW-Authenticate"].startswith("Basic")
            assert [type(r) for r in cp.received] == [v16.ResetRequest]  # only the central system's Reset
    async with soap.serve(CentralSystemServer(EchoCentralSystem)) as endpoint:  # no credentials to present
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, server_auth=_accept_the_central_system):
            await cp.call(v16.HeartbeatRequest())
            with pytest.raises(UnreadableAnswer, match="HTTP 401"):
                await endpoint.server.call("CP1", v16.ResetRequest(type="Soft"))
            assert cp.received == []
