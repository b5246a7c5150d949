"""ocpprpc's code generator: official OCPP WSDLs (1.2, 1.5, 1.6) and JSON schemas (2.0.1, 2.1) in, typed Pydantic
models out.

Run ``python -m codegen`` (or ``make regenerate``) from the repository root. See ``__main__`` for options.
"""
