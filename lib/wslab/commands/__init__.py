"""One module per ``wslab`` sub-command.

Each module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. :mod:`wslab.cli` imports the modules listed in
:data:`COMMANDS`.
"""

COMMANDS: list[str] = [
    "reproduce",
    "detect_eval",
    "analyze",
    "verify",
    "serve",
    "experiment",
    "envs",
    "matrix",
    "bisect",
    "doctor",
]
