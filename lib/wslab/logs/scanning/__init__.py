"""What a chunk of a log holds, found with compiled regexes over whole chunks: line, status and
unparsed-line counts (:mod:`~wslab.logs.scanning.chunks`), traceback records
(:mod:`~wslab.logs.scanning.tracebacks`), numpy's pre-filter of line starts
(:mod:`~wslab.logs.scanning.linestarts`), and the streamed :class:`~wslab.logs.scanning.tally.Tally`
(:mod:`~wslab.logs.scanning.stream`)."""
