"""Running the application: Redis, log format, servers, the stack, simulated users, environments.

``redis_backend``    where Redis comes from (URL, a ``redis-server`` child, fakeredis)
``logformat``        the incident's log line format, attached to the lab's loggers
``servers``          one server protocol and one module per server the app runs under (Werkzeug's
                     dev server with the debugger on or off, gunicorn's gthread worker), by name
``stack``            Redis + app + a server (Werkzeug's by default), started and stopped as one
``traffic``          simulated users on real HTTP and Socket.IO clients
``capture``          a capture server recording labelled request heads (``capture_clients`` drives it)
``envs``             pin sets built into cached virtualenvs (``wslab envs``)
``pids``             the processes the kit started, so that a reset stops those and no others
"""
