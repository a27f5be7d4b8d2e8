"""Web UI of the captcha solver (Gradio): prediction with the segmentation drawn, and a settings editor."""

__all__ = ["build_ui"]


def build_ui(session):
    """Build the Gradio app (see :func:`ui.app.build_ui`); Gradio is imported only here."""
    from captcha_solver.ui.app import build_ui as _build_ui

    return _build_ui(session)
