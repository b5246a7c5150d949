"""Transports: OCPP-J over WebSocket, OCPP-S over SOAP/HTTP, and an in-memory pair for tests."""
