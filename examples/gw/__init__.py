"""The gateway app's parts: its command line and files (``options``), its status endpoint (``status``)."""
