"""Captcha solver, from a checkout: ``python model.py <command>`` runs the ``captcha-solver`` CLI.

The library is the ``captcha_solver`` package (with the stage packages
``segmentation`` and ``features``); this script only exposes the solver
class and runs the command line::

    python model.py generate --out data/demo --count 20 --seed 1
    python model.py train --dataset DIR [--model-dir DIR]
    python model.py predict --dataset DIR | --image FILE [--results PATH]
    python model.py evaluate --dataset DIR

    from model import My_CaptchaSolver_Model
"""

from captcha_solver.cli import cli, main
from captcha_solver.solver import My_CaptchaSolver_Model

__all__ = ["My_CaptchaSolver_Model", "cli", "main"]

if __name__ == "__main__":
    main()
