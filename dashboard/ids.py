"""Every component id the dashboard uses, in one place."""

# App shell
SIGN_OUT = "sign-out"              # a signed-in person's Sign out button (posts to /signout)
SIGNED_OUT = "signed-out"          # where a page whose session ended says so (the push stops then)
PAGE = "page"                      # in each page's layout: what it shows, {"page", "lang", …} (views.py)
LIVE_VIEW = "live-view"            # in each live page's layout: its data-view is the latest pushed view (views.py)

# Wall display (its parts are put in place by the browser, in elements marked data-part: pages/wall.py)
ROTATION = "wall-rotation"         # the views a rotating wall cycles through, and how often (pages/wall.py)
ROTATE = "wall-rotate"             # the interval that moves a rotating wall to its next view

# Floor view (its live parts are put in place by the browser, in elements marked data-part: pages/floor.py)
FLOOR_FILTER = "floor-filter"      # {"type": FLOOR_FILTER, "filter": "queues" | "team" | "agent"}: dropdowns
FLOOR_SORT = "floor-sort"          # {"type": FLOOR_SORT, "column": key}: agent table header buttons
FLOOR_CALL = "floor-call"          # {"type": FLOOR_CALL, "feed": feed, "call": id}: opens a call's timeline
FLOOR_CLOSE = "floor-close"        # closes the drill-down
FLOOR_DRILL = "floor-drill"        # store: the agent and call drilled into, {"agent", "feed", "call"}
FLOOR_DETAIL = "floor-detail"      # the drill-down panel, drawn on the server on demand
FLOOR_REFRESH = "floor-refresh"    # interval that refreshes an open drill-down
FLOOR_URL = "floor-url"            # the floor's address, kept in step with its filters and drill-down

# Alerts page (pages/alerts.py): {"type": ALERTS_PART, "part": "status" | "open"}
ALERTS_PART = "alerts-part"
# {"type": ALERTS_ACT, "action": "acknowledge" | "resolve", "alert": id, "where": "open" | "detail"}: buttons
ALERTS_ACT = "alerts-act"
ALERTS_NAME = "alerts-name"        # the "Your name" field
ALERTS_NAME_STORE = "alerts-name-store"  # that name, kept in the browser (localStorage)
ALERTS_MESSAGE = "alerts-message"  # what the last click did, or why it did nothing
ALERTS_DONE = "alerts-done"        # store: bumped after each change made here, to redraw the history and detail
ALERTS_DETAIL = "alerts-detail"    # the alert chosen by ?alert=ID, read on demand (even if resolved)
ALERTS_FILTER = "alerts-filter"    # {"type": ALERTS_FILTER, "filter": "state" | "kind" | "queue"}
ALERTS_DATES = "alerts-dates"      # the history's date range
ALERTS_STEP = "alerts-step"        # {"type": ALERTS_STEP, "step": -1 | 1}: newer / older page of the history
ALERTS_OFFSET = "alerts-offset"    # store: where the history's page starts
ALERTS_HISTORY = "alerts-history"  # the history table, read on demand
ALERTS_REFRESH = "alerts-refresh"  # interval that re-reads the history and the detail

# --- The managers' pages (dashboard/pages/trends.py, agents.py) --------------------------------
TRENDS_URL = "trends-url"          # the trends page's address, kept in step with its choices
TRENDS_RANGE = "trends-range"      # preset dropdown: today, yesterday, ..., custom (dashboard/periods.py)
TRENDS_DAYS = "trends-days"        # date range picker: the first and last day shown
TRENDS_BUCKET = "trends-bucket"    # group by: 15m, 1h, 1d, 1w, 1mo, shift
TRENDS_QUEUES = "trends-queues"    # queue filter (several)
TRENDS_TEAM = "trends-team"        # team filter
TRENDS_SHIFT = "trends-shift"      # shift filter
TRENDS_WINDOW = "trends-window"    # the window shown, in words
TRENDS_CHART = "trends-chart"      # {"type": TRENDS_CHART, "chart": name}: one Plotly chart (dashboard/charts.py)
TRENDS_EXPORT = "trends-export"    # {"type": TRENDS_EXPORT, "chart": name, "fmt": "csv" | "xlsx"}: download links
TRENDS_PERIODS = "trends-periods"  # the table of this period against the previous
AGENTS_URL = "agents-url"          # the agents page's address
AGENTS_RANGE = "agents-range"      # preset dropdown
AGENTS_DAYS = "agents-days"        # date range picker
AGENTS_WINDOW = "agents-window"    # the window shown, in words
AGENTS_BODY = "agents-body"        # the ranking, or one agent's scorecard
AGENTS_EXPORT = "agents-export"    # {"type": AGENTS_EXPORT, "table": name, "fmt": "csv" | "xlsx"}: download links
AGENTS_PRINT = "agents-print"      # prints the scorecard shown
