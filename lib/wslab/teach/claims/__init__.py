"""The walkthrough notebooks' conclusions, each worked out from what the notebook measured.

A :class:`Claim` is one sentence a notebook concludes, where its number comes
from (``evidence``: which run, log or committed file), the number itself as
short text (``measured``: ``"6/6"``, ``"0 of 8"``) and whether it ``holds``.
``holds`` compares the measured values with the expectation the sentence
states (every direct WebSocket, none of the pages, at least one per user),
never a value with itself.  :func:`conclusions` turns claims into the table a
notebook's closing cell shows, one row per claim, columns :data:`COLUMNS`.

One module per notebook; its function takes the objects that notebook already
computed and returns its claims:

=====================  ===============================  ======================
module                 function                         notebook
=====================  ===============================  ======================
``reproduce``          ``reproduce_claims(...)``        ``01_reproduce``
``writeup_fix``        ``writeup_fix_claims(...)``      ``02_writeup_fix``
``root_cause``         ``root_cause_claims(...)``       ``03_root_cause``
``fixes_compared``     ``fixes_compared_claims(...)``   ``04_fixes_compared``
``your_logs``          ``your_logs_claims(...)``        ``05_your_logs``
=====================  ===============================  ======================

``base`` holds the claim record, its table and the small helpers they share.
"""

from wslab.teach.claims.base import COLUMNS, Claim, conclusions, every, k_of_n
from wslab.teach.claims.fixes_compared import bisect_claims, fixes_compared_claims, hot_apply_claims, matrix_claims
from wslab.teach.claims.reproduce import reproduce_claims
from wslab.teach.claims.root_cause import root_cause_claims
from wslab.teach.claims.writeup_fix import writeup_fix_claims
from wslab.teach.claims.your_logs import (deploy_log_claims, recorded_logs_claims, your_deployment_claims,
                                          your_logs_claims)

__all__ = [
    "COLUMNS", "Claim", "bisect_claims", "conclusions", "deploy_log_claims", "every", "fixes_compared_claims",
    "hot_apply_claims", "k_of_n", "matrix_claims", "recorded_logs_claims", "reproduce_claims", "root_cause_claims",
    "writeup_fix_claims", "your_deployment_claims", "your_logs_claims",
]
