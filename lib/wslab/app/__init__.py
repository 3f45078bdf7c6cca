"""The application under study and the parts a Flask-SocketIO app is made of.

``demo``             the demo Flask + Flask-SocketIO application factory
``sessions``         Redis session interfaces: the legacy one and the write-up's fix
``detection``        WebSocket / Engine.IO request detectors (the write-up's and a precise one)
``guard``            the WSGI guard that ends WebSocket requests cleanly
``socketio_config``  the write-up's Socket.IO configuration
``variants``         the named arrangements: no-session, before, writeup-fix, guard
``browser_client``   where the page's Socket.IO client script comes from

Nothing here starts a server: :mod:`wslab.lab` does.
"""
