"""Typed OCPP messages: ``v12``, ``v15`` and ``v16`` are generated from the official WSDLs."""
