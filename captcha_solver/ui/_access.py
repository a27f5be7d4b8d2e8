"""Who may see the records and monitoring pages: the settings page's rule, applied to reading.

The log, the results and the kept captchas hold what users sent, so a public UI shows them only to
whoever has the admin token, and a UI exposed on the network without ``--public`` never shows them.
"""

from __future__ import annotations

__all__ = ["records_refusal"]


def records_refusal(session, token: str) -> str | None:
    """Why ``session`` may not show its records to this visitor, or None if it may.

    Parameters
    ----------
    session : SolverSession
        Its ``exposed``, ``public``, ``admin_token`` and wrong-token limiter decide.
    token : str
        The admin token the visitor typed.

    Returns
    -------
    refusal : str or None
        "Refused: ..." naming the environment variable or the listening address.
    """
    env = session.config.serving.admin_token_env
    if session.exposed:
        return (
            f"Refused: the UI listens on {session.host}, beyond this computer, without --public; records are "
            f"shown on 127.0.0.1, or with --public to whoever has the admin token `{env}`."
        )
    if session.public and not session.admin_token:
        return f"Refused: this is a public deployment and `{env}` is not set on the server."
    if session.admin_token:
        return session._check_token(token or "")
    return None
