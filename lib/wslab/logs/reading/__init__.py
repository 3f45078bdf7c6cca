"""Where log bytes come from: sources and chunks (:mod:`~wslab.logs.reading.sources`), whether a
source is text (:mod:`~wslab.logs.reading.sniff`), and a log opened once (:mod:`~wslab.logs.reading.opened`)."""
