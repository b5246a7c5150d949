"""Typed OCPP messages: ``v12``, ``v15`` and ``v16`` are generated from the official WSDLs, ``v201`` and ``v21``
(OCPP 2.0.1 and 2.1, OCPP-J only) from the official JSON schemas."""
