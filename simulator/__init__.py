"""A simulated call floor served as a live websocket feed: the demo data source and the
reference feed for integrators. It depends on nothing else in Callboard.
"""

from simulator.feed_server import FeedServer, demo_server
from simulator.floor import CallFloor

__all__ = ["CallFloor", "FeedServer", "demo_server"]
