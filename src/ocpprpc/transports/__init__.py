"""Transports: the wire formats and I/O that carry OCPP messages (WebSocket, SOAP)."""
