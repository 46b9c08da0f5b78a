"""Asterisk's Manager Interface (AMI) as a Callboard source: ``callboard ingest --source asterisk-ami``.

``ami`` reads and writes AMI's framing (over TCP, or as JSON objects through a websocket bridge),
``translate`` turns AMI's queue events into protocol events, keeping what it needs of the calls and
agents it has seen, and ``source`` runs the connection: log in, rebuild from ``QueueStatus``, then
translate events as they come, reconnecting forever.
"""
