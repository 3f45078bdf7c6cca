"""Running the application: Redis, log format, the in-process stack, simulated users.

``redis_backend``  where Redis comes from (URL, a ``redis-server`` child, fakeredis)
``logformat``      the incident's log line format, attached to the lab's loggers
``stack``          Redis + app + real Werkzeug server threads (debugger on or off), started and stopped as one
``gunicorn_server`` the app under a real gunicorn gthread worker, a child process (``gunicorn_app`` is its entry)
``traffic``        simulated users on real HTTP and Socket.IO clients
``envs``           pin sets built into cached virtualenvs (``wslab envs``)
``pids``           the processes the kit started, so that a reset stops those and no others
"""
