"""The kit's vocabulary, below every other layer: request and connection kinds, server
names, the stack's packages and the record format of the recorded results.

Every other layer names these things through this package, so a table, a chart, an
exercise and a command all say "direct websocket" for the same request.
"""
