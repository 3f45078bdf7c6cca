"""From logs to answers: the one pipeline (:mod:`~wslab.logs.analysis.pipeline`), error rates per
group and phases (:mod:`~wslab.logs.analysis.metrics`), time buckets
(:mod:`~wslab.logs.analysis.buckets`), charts (:mod:`~wslab.logs.analysis.charts`) and your own
log in one call (:mod:`~wslab.logs.analysis.overview`)."""
