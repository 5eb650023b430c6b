"""What an operator should be told when ``smsgw run`` starts: settings that work but should not ship.

- the demo credentials of the shipped ``config.toml`` (``[smpp] password =
  "demo1234"``, the local simulator's) against an SMSC;
- SMTP credentials sent without STARTTLS because ``[email] starttls = false``
  says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config

__all__ = ["DEMO_PASSWORD", "StartupWarning", "startup_warnings"]

#: The SMPP password the shipped config.toml and the simulator share.
DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True, slots=True)
class StartupWarning:
    event: str
    hint: str


def startup_warnings(config: Config, *, demo: bool = False) -> list[StartupWarning]:
    """The warnings to log at start (none for a production configuration; *demo*: ``smsgw demo``)."""
    warnings = []
    if config.smpp.password == DEMO_PASSWORD and not demo:
        warnings.append(
            StartupWarning(
                "demo_credentials_in_use",
                "[smpp] password is the shipped demo password: set the SMSC's in SMSGW_SMPP_PASSWORD",
            )
        )
    email = config.email
    if email.enabled and (email.username or email.password) and not email.use_starttls:
        warnings.append(
            StartupWarning(
                "smtp_credentials_without_starttls",
                "[email] starttls = false: the SMTP password goes over the network in clear",
            )
        )
    return warnings
