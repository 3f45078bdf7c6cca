"""Notebooks and training: display helpers, the headless runner, stamps, exercises, workspace, reset.

``display``    notebook display and chart-saving helpers
``report``     runs notebooks headless (``make demo``, ``make notebooks``)
``stamps``     freshness stamps for stored notebook outputs
``exercises``  check cells for the training exercises
``reset``      resets the lab between training groups (``make reset``)
``workspace``  participants' copies of the notebooks (``make workspace``)
``lab``        JupyterLab on the workspace, 127.0.0.1 with a token (``make lab``)
``matrix_charts``  charts of the factor matrix: outcomes per connection, session visibility
``claims``     the walkthrough notebooks' conclusions: claim, evidence, measured, holds
"""
