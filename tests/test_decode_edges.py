"""Edges of frame decoding found by fuzzing the OCPP-J link's fast path against :func:`decode`."""

from __future__ import annotations

import pytest

from ocpprpc._frames import OCPP_J_1, Call, FrameError, decode
from ocpprpc.errors import ErrorCode


def test_an_out_of_range_number_beside_an_escape_decodes_as_without_the_escape() -> None:
    # json reads 1e999 as inf; the lone-surrogate check that any \u escape triggers must not trip over it
    assert decode('[2,"1","DataTransfer",{"a":1e999,"b":"\\u00e9"}]') == Call(
        "1", "DataTransfer", {"a": float("inf"), "b": "é"}
    )
    assert decode('[2,"1","DataTransfer",{"a":1e999}]') == Call("1", "DataTransfer", {"a": float("inf")})


def test_a_lone_surrogate_beside_an_out_of_range_number_is_still_refused() -> None:
    with pytest.raises(FrameError) as caught:
        decode('[2,"1","DataTransfer",{"a":-1e999,"b":"\\ud800"}]', OCPP_J_1)
    assert caught.value.code is ErrorCode.FORMATION_VIOLATION
    assert caught.value.unique_id == "1"
