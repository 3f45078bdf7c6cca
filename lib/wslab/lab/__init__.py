"""Running the application: Redis, log format, the in-process stack, simulated users.

``redis_backend``  where Redis comes from (URL, a ``redis-server`` child, fakeredis)
``logformat``      the incident's log line format, attached to the lab's loggers
``stack``          Redis + app + real Werkzeug server threads, started and stopped as one
``traffic``        simulated users on real HTTP and Socket.IO clients
"""
