"""HTTP Basic credentials for the simulator: what a central system demands, what a charge point presents.

A central system started with ``--user NAME --password SECRET`` demands those of every charge point; with
``--credentials FILE`` each charge point has its own password, and presents its own id as user name (as
OCPP 1.6's security profile 1 has it), so one charge point's password cannot open another's session. The
file holds one ``username:password`` line per charge point (the user name is the charge point id, the
password is the rest of the line, colons and all); blank lines and lines starting with ``#`` are skipped.
Credentials are compared with :func:`hmac.compare_digest`, so the time a check takes does not tell how
much of a guess was right.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from .commands import Command, CommandError, parse_value

CREDENTIALS_HELP = (
    "--credentials FILE: one username:password line per charge point, the username being the charge"
    " point id (blank lines and # comments skipped); --user/--password: one pair for every charge point"
)


def _text(value: str) -> str:
    """An option's value, without the quotes it may have been typed in (``"a b"`` → ``a b``)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return str(parse_value(value))
    return value


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


class BasicAuth:
    """The central system's ``auth(charge_point_id, username, password)`` callback (both transports)."""

    def __init__(
        self, *, shared: tuple[str, str] | None = None, per_charge_point: dict[str, str] | None = None
    ) -> None:
        if (shared is None) == (per_charge_point is None):
            raise ValueError("give either shared credentials or per-charge-point passwords")
        self.shared = shared
        self.per_charge_point = per_charge_point or {}

    def __call__(self, charge_point_id: str, username: str, password: str) -> bool:
        if self.shared is not None:
            user, secret = self.shared
            known = True
        else:
            expected = self.per_charge_point.get(charge_point_id)
            known = expected is not None
            # an unknown charge point is compared with something too, so it takes the same time
            user, secret = (charge_point_id, expected) if expected is not None else ("\0", "\0" * 16)
        user_ok = _same(username, user)
        password_ok = _same(password, secret)
        return known and user_ok and password_ok

    def describe(self) -> str:
        if self.shared is not None:
            return f"user {self.shared[0]}"
        return f"{len(self.per_charge_point)} charge point(s) with their own password"


def read_credentials(path: str) -> dict[str, str]:
    """The ``username:password`` lines of ``path``: {charge point id: password}."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read the credentials file {path}: {error}") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, colon, password = line.partition(":")
        if not colon or not user.strip() or not password:
            raise CommandError(f"{path}, line {number}: not a username:password line")
        found[user.strip()] = password
    if not found:
        raise CommandError(f"the credentials file {path} holds no username:password line")
    return found


def central_system_auth(command: Command) -> BasicAuth | None:
    """What ``start_cs`` demands of charge points: from ``--user`` / ``--password`` or ``--credentials``."""
    user, password = command.options.get("user"), command.options.get("password")
    path = command.options.get("credentials")
    if path is not None:
        if user is not None or password is not None:
            raise CommandError("give either --credentials FILE or --user NAME --password SECRET, not both")
        return BasicAuth(per_charge_point=read_credentials(_text(path)))
    if user is None and password is None:
        return None
    if user is None or password is None:
        raise CommandError("--user and --password go together (or use --credentials FILE)")
    return BasicAuth(shared=(_text(user), _text(password)))


def charge_point_credentials(command: Command, charge_point_id: str) -> tuple[str, str] | None:
    """What ``start_cp`` presents: ``--user`` (default: the charge point id) and ``--password``."""
    user, password = command.options.get("user"), command.options.get("password")
    if password is None:
        if user is not None:
            raise CommandError("--user needs --password")
        return None
    return (_text(user) if user is not None else charge_point_id, _text(password))
