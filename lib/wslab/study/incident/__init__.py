"""The incident's story: the root cause isolated step by step, the write-up compared with
what the lab logs, the write-up's fix measured piece by piece, and the committed logs
checked against what their recordings sent."""
