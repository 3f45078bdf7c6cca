"""Check cells for the training notebooks in ``notebooks/exercises/``.

Each task has one checker object.  A learner writes an answer into a cell and
runs the check cell; the checker works out the right answer *from the data at
check time* (a log file, a run of the real stack, the request corpus) and
returns a :class:`Feedback`: correct, incorrect or not yet, with the reasons
and a hint.  Nothing here stores an expected number.

One module per task notebook, each with its checker:

* ``predict_then_measure``: :class:`PredictThenMeasure`, notebook ``01_predict_then_measure``
  (predict, then measure, the write-up's configuration change);
* ``beat_the_writeup_detector``: :class:`BeatTheWriteup`, notebook ``02_beat_the_writeup_detector``
  (a request detector that beats the write-up's heuristic on the request corpus);
* ``find_the_failing_requests``: :class:`FailingRequests`, notebook ``03_find_the_failing_requests``
  (the failing requests of a log).

``base`` holds the check-cell machinery they share (the ``...`` placeholder,
:class:`Feedback`, hints, wording) and ``answers`` the one spelling answers
are compared in (:func:`answer_key`).  An answer left as ``...`` always gives
the same "not yet" feedback, so a task notebook's stored outputs are stable.
"""

from wslab.teach.exercises.answers import (NAME_ALIASES, answer_key, as_count, normalise_flag, normalise_name,
                                           normalise_path, normalise_text, same_answer)
from wslab.teach.exercises.base import PLACEHOLDER, Feedback, answers_summary, is_placeholder, kit_file, plural
from wslab.teach.exercises.beat_the_writeup_detector import (BeatTheWriteup, as_decision, f1,
                                                             writeup_false_positive_signals)
from wslab.teach.exercises.find_the_failing_requests import FailingRequests, failing_truth, naive_counts
from wslab.teach.exercises.predict_then_measure import PredictThenMeasure

__all__ = [
    "NAME_ALIASES", "BeatTheWriteup", "FailingRequests", "Feedback", "PLACEHOLDER", "PredictThenMeasure",
    "answer_key", "answers_summary", "as_count", "as_decision", "f1", "failing_truth", "is_placeholder",
    "kit_file", "naive_counts", "normalise_flag", "normalise_name", "normalise_path", "normalise_text",
    "plural", "same_answer", "writeup_false_positive_signals",
]
