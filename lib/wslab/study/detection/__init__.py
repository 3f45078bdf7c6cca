"""How well a detector tells Engine.IO WebSocket requests from the rest: the captured
request corpus and the detectors' confusion counts."""
