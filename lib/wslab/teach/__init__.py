"""Notebooks and training: display helpers, the headless runner, stamps, exercises, reset.

``display``    notebook display and chart-saving helpers
``report``     runs notebooks headless (``make demo``, ``make notebooks``)
``stamps``     freshness stamps for stored notebook outputs
``exercises``  check cells for the training exercises
``reset``      resets the lab between training groups (``make reset``)
``matrix_charts``  charts of the factor matrix: outcomes per connection, session visibility
"""
