"""ocpprpc: typed OCPP 1.2 / 1.5 / 1.6 RPC over WebSocket and SOAP."""
