"""Every component id the dashboard uses, in one place."""

# App shell
LIVE_STORE = "live-store"          # the latest pushed view of the floor (dashboard/views.py)
TICK = "tick"                      # browser-side interval that drives the timers
TIMER = "timer"                    # pattern-matching type: {"type": TIMER, "index": key}
PAGE = "page"                      # in each page's layout: what it shows, {"page", "lang", …} (views.py)

# Wall display: {"type": WALL_PART, "part": "status" | "queues" | "holds" | "callbacks" | "agents"}
WALL_PART = "wall-part"
ROTATION = "wall-rotation"         # the views a rotating wall cycles through, and how often (pages/wall.py)
ROTATE = "wall-rotate"             # the interval that moves a rotating wall to its next view
