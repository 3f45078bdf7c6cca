"""The experiments: each one runs the lab and measures what its logs and clients show.

``runs``         one measured run: a stack, a workload, the log's counts
``cells``        one variant x one transport on a fresh stack: a results row
``experiment``   every variant x transport (``wslab experiment``)
``envrun``       cells run in a subprocess of some interpreter, rows read back
``outcomes``     one outcome per Socket.IO connection: clients' record joined with the log
``cellrun``      one matrix cell's variants on one server (Werkzeug, its debugger, gunicorn)
``matrix``       the factor matrix: versions and servers, one change at a time (``wslab matrix``)
``bisect``       every release of one package, measured one by one and cached (``wslab bisect``)
``hot_apply``    fixes applied to one stack while traffic flows
``load``         throughput, latency and Redis round trips under load
``rootcause``    the steps that isolate the cause
``writeup``      the write-up's error block, compared with a run's
``writeup_fix``  the write-up's fix measured: its detection, its configuration, its runs
``recorded``     the committed logs against what their recordings sent
``corpus``       request heads captured from real clients; ``detect_eval`` scores detectors
``verify``       checks of a live app (``wslab verify``); ``verify_log`` reads its server log
``doctor``       whether a deployment's versions are affected, from the recorded results (``wslab doctor``)
"""
