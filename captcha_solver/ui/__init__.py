"""Web UI of the captcha solver (Gradio): prediction (examples, batch, model card), records, monitoring, settings."""

__all__ = ["build_ui"]


def build_ui(session):
    """Build the Gradio app (see :func:`ui.app.build_ui`); Gradio is imported only here."""
    from captcha_solver.ui.app import build_ui as _build_ui

    return _build_ui(session)
