"""wslab: reproduce, explain and fix Werkzeug's ``write() before start_response``
on Flask-SocketIO WebSocket requests, and measure every step.

The package is small and flat; each module has one job:

==========================  =====================================================
``wslab.sessions``          Redis session interfaces (legacy and the write-up's fix)
``wslab.detection``         WebSocket/Engine.IO request detectors
``wslab.socketio_config``   the write-up's Socket.IO configuration manager
``wslab.app``               the demo Flask + Flask-SocketIO application factory
``wslab.redis_backend``     where Redis comes from (URL, child process, fakeredis)
``wslab.logformat``         the write-up's log line format
``wslab.stack``             the in-process stack (Redis + app + Werkzeug threads)
``wslab.traffic``           simulated users on real HTTP and Socket.IO clients
``wslab.logs``              log parsing, error-rate metrics and charts
``wslab.cli``               the ``wslab`` command line
==========================  =====================================================
"""

__version__ = "0.1.0"
