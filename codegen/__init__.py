"""ocpprpc's code generator: official OCPP WSDLs in, typed Pydantic models out.

Run ``python -m codegen`` (or ``make regenerate``) from the repository root. See ``__main__`` for options.
"""
