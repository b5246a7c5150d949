"""The ocppjs-style simulator behind ``examples/simulator.py``, built only on ocpprpc's public API."""
