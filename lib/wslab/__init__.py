"""wslab: reproduce, explain and fix Werkzeug's ``write() before start_response``
on Flask-SocketIO WebSocket requests, and measure every step.

The package is flat; each module has one job:

===========================  ====================================================
**the stack under study**
``wslab.sessions``           Redis session interfaces (legacy and the write-up's fix)
``wslab.detection``          WebSocket/Engine.IO request detectors
``wslab.socketio_config``    the write-up's Socket.IO configuration manager
``wslab.app``                the demo Flask + Flask-SocketIO application factory
``wslab.guard``              the WSGI guard that ends WebSocket requests cleanly
``wslab.variants``           the named arrangements: no-session, before, writeup-fix, ...
**running it**
``wslab.redis_backend``      where Redis comes from (URL, child process, fakeredis)
``wslab.logformat``          the incident's log line format
``wslab.stack``              the in-process stack (Redis + app + Werkzeug threads)
``wslab.traffic``            simulated users on real HTTP and Socket.IO clients
``wslab.runs``               one measured run: stack, workload, log counts
``wslab.experiment``         every variant x transport; ``wslab.upgraded`` runs the
                             current pins in their own interpreter
``wslab.hot_apply``          fixes applied to one stack while traffic flows
``wslab.load``               throughput, latency and Redis round trips under load
``wslab.verify``             checks of a live app (``wslab verify``)
**reading the results**
``wslab.logs``               log parsing, error-rate metrics and charts
``wslab.rootcause``          the experiments that isolate the cause
``wslab.writeup``            the write-up's error block, compared with a run's
``wslab.corpus``             captured request heads; ``wslab.detect_eval`` scores detectors
**notebooks and training**
``wslab.nbtools``            display and chart helpers; ``wslab.report`` runs notebooks
``wslab.notebook_stamp``     freshness stamps for stored notebook outputs
``wslab.exercises``          check cells for the training exercises
``wslab.reset``              reset the lab between training groups
``wslab.cli``                the ``wslab`` command line (``wslab.commands.*``)
===========================  ====================================================
"""

__version__ = "0.1.0"
