"""Running the application: Redis, log format, the in-process stack, simulated users.

``redis_backend``  where Redis comes from (URL, a ``redis-server`` child, fakeredis)
``logformat``      the incident's log line format, attached to the lab's loggers
``stack``          Redis + app + real Werkzeug server threads, started and stopped as one
``traffic``        simulated users on real HTTP and Socket.IO clients
``envs``           pin sets built into cached virtualenvs (``wslab envs``)
``pids``           the processes the kit started, so that a reset stops those and no others
"""
