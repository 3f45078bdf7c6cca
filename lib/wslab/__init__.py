"""wslab: reproduce, explain and fix Werkzeug's ``write() before start_response``
on Flask-SocketIO WebSocket requests, and measure every step.

The folders are the layers, lowest first; a module imports only from its own
layer or the ones below it (``tests/test_layers.py`` checks this, and that
there is no import cycle; ``docs/ARCHITECTURE.md`` says where new code goes):

=====================  =========================================================
``wslab.errors``       the one exception users see; ``paths`` and ``versions``,
                       the kit's folders and the installed versions
``wslab.logs``         reading logs: parse, summarize, error rates, charts
``wslab.app``          the app under study and its parts: demo app, session
                       interfaces, detectors, guard, Socket.IO config, variants
``wslab.lab``          running it: Redis, log format, in-process stack, traffic
``wslab.study``        the experiments: runs, cells, variant x transport,
                       other interpreters, hot-apply, load, root cause,
                       write-up comparison, request corpus, live-app checks
``wslab.teach``        notebooks and training: display helpers, headless
                       runner, stamps, exercise checks, reset
``wslab.commands``     one module per ``wslab`` sub-command; ``wslab.cli``
                       dispatches to them
=====================  =========================================================
"""

__version__ = "0.1.0"
