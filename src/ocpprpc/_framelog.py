"""The frame log: every message in and out, whatever the transport, at INFO on ``ocpprpc.frames``.

Lines read like the ocppjs simulator's transcript: ``cs: <<cp#CP1 [2,"…","Heartbeat",{}]`` for a frame
the central system received from charge point CP1, ``cp#CP1: >>cs …`` for one the charge point sent. A
transport logs each message with the labels :func:`frame_labels` gives for its side and charge point
(OCPP-J: the frame as sent; OCPP-S: ``/<Action> {json payload}``). What the peer chose (the charge point
id, the frame) is escaped with :func:`~ocpprpc._identity.loggable`, so it cannot forge a line.
"""

from __future__ import annotations

import logging

from ._identity import loggable
from .messages._base import Side

__all__ = ["frame_labels", "frame_logger"]

frame_logger = logging.getLogger("ocpprpc.frames")
"""Every frame, in and out, at INFO."""


def frame_labels(side: Side, charge_point_id: str) -> tuple[str, str]:
    """(sent, received) prefixes of frame log lines of ``side`` about ``charge_point_id``.

    ``("cs: >>cp#CP1", "cs: <<cp#CP1")`` for a central system, ``("cp#CP1: >>cs", "cp#CP1: <<cs")`` for a
    charge point.
    """
    who = loggable(charge_point_id)
    if side is Side.CENTRAL_SYSTEM:
        return f"cs: >>cp#{who}", f"cs: <<cp#{who}"
    return f"cp#{who}: >>cs", f"cp#{who}: <<cs"
