"""Logs as rows: request, error and marker DataFrames (:mod:`~wslab.logs.parsing.parser`), the typed
fields they hold (:mod:`~wslab.logs.parsing.fields`, :mod:`~wslab.logs.parsing.records`), and each
traceback paired with its request (:mod:`~wslab.logs.parsing.matching`)."""
