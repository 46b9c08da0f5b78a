"""Every word the pages show, in English and Simplified Chinese.

Pages call ``text(key, language)``; agent and queue names are never translated (they are shown as
the feed sends them). A display picks its language with ``?lang=zh-Hans`` in its URL, otherwise
the site's ``CALLBOARD_LANGUAGE`` applies.
"""

from __future__ import annotations

from callboard.settings import LANGUAGES

_TEXT: dict[str, tuple[str, str]] = {
    # key: (English, Simplified Chinese)
    "waiting_for_data": ("Waiting for data…", "等待数据…"),
    "stale": ("DATA IS STALE", "数据已过期"),
    "stale_database": ("database unreachable", "无法连接数据库"),
    "stale_feed": ("no new data from the feed", "话务数据源无新数据"),
    "last_update": ("last update", "最后更新"),
    "never": ("never", "从未"),
    "live_since": ("Live · today since", "实时 · 今日自"),
    "all_queues": ("All queues", "全部队列"),
    "all_shown": ("All shown", "以上合计"),
    "team": ("Team", "班组"),
    "updated": ("updated", "更新于"),
    "ago": ("ago", "前"),
    "more": ("more", "未显示"),
    "counts": ("Offered · answered · abandoned", "呼入 · 已接 · 放弃"),
    "abandoned_title": ("Abandoned today", "今日放弃"),
    "short": ("short", "短时放弃"),
    "no_abandons": ("No abandoned calls today", "今日无放弃来电"),
    "waiting": ("Waiting", "排队中"),
    "longest_wait": ("Longest wait", "最长等待"),
    "asa": ("ASA", "平均应答"),
    "on_time": ("On time", "及时应答率"),
    "service_level": ("Service level", "服务水平"),
    "abandon_rate": ("Abandoned", "放弃率"),
    "offered": ("offered", "呼入"),
    "answered": ("answered", "已接"),
    "abandoned": ("abandoned", "放弃"),
    "holds_title": ("On hold too long", "保留超时"),
    "no_holds": ("No holds over the limit", "无超时保留"),
    "callbacks_title": ("Callbacks due", "待回电投诉"),
    "open": ("open", "未结"),
    "overdue": ("overdue", "已逾期"),
    "due": ("due", "截止"),
    "no_callbacks": ("No callbacks due", "无待回电"),
    "agents_title": ("Agents", "坐席"),
    "no_agents": ("No agents logged in", "无坐席登录"),
    "score": ("score", "综合评分"),
    "state_available": ("Available", "空闲"),
    "state_on_call": ("On call", "通话中"),
    "state_on_hold": ("On hold", "保留中"),
    "state_after_call_work": ("Wrap-up", "话后处理"),
    "state_break": ("Break", "休息"),
    "state_not_ready": ("Not ready", "未就绪"),
    # The floor view
    "floor_title": ("Floor", "现场监控"),
    "other_language": ("中文", "English"),
    "queue": ("Queue", "队列"),
    "agent": ("Agent", "坐席"),
    "all_agents": ("All agents", "全部坐席"),
    "all_teams": ("All teams", "全部班组"),
    "state": ("State", "状态"),
    "in_state": ("In state", "持续时间"),
    "answered_count": ("Answered", "应答数"),
    "csat": ("CSAT", "客户满意度"),
    "surveys": ("surveys", "份调查"),
    "resolution_rate": ("Resolved", "解决率"),
    "hold_discipline": ("Hold discipline", "保留纪律"),
    "holds_over": ("over", "超时"),
    "callbacks_on_time": ("Callbacks on time", "按时回电率"),
    "agent_hangup_rate": ("Agent hung up", "坐席先挂断"),
    "score_title": ("Score", "综合评分"),
    "on_call_now": ("On call", "通话中"),
    "on_hold_now": ("On hold", "保留中"),
    "calls_today": ("Calls today", "今日通话"),
    "call_timeline": ("Call", "通话"),
    "close": ("Close", "关闭"),
    "queued": ("Queued", "排队"),
    "answered_at": ("Answered", "应答"),
    "ended": ("Ended", "结束"),
    "waited": ("Waited", "等待"),
    "holds": ("Holds", "保留"),
    "longest_hold": ("longest", "最长"),
    "released_by": ("Hung up first", "先挂断方"),
    "resolved": ("Resolved", "已解决"),
    "survey": ("Survey", "满意度"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "no_calls": ("No calls today", "今日无通话"),
    "no_events": ("No events stored for this call", "此通话无记录"),
    "time": ("Time", "时间"),
    "event": ("Event", "事件"),
    "details": ("Details", "详情"),
    "released_agent": ("agent", "坐席"),
    "released_customer": ("customer", "客户"),
    "released_system": ("system", "系统"),
    "event_call.queued": ("Queued", "进入队列"),
    "event_call.answered": ("Answered", "应答"),
    "event_call.abandoned": ("Caller hung up waiting", "来电者等待中挂断"),
    "event_call.hold_started": ("Hold started", "开始保留"),
    "event_call.hold_ended": ("Hold ended", "结束保留"),
    "event_call.transferred": ("Transferred", "转接"),
    "event_call.ended": ("Ended", "结束"),
    "event_survey.completed": ("Survey", "满意度调查"),
    "event_complaint.opened": ("Complaint opened", "登记投诉"),
    # --- The managers' pages: trends and agents (dashboard/pages/trends.py, agents.py) -----------
    "nav_floor": ("Floor", "现场监控"),
    "nav_wall": ("Wall", "大屏"),
    "nav_trends": ("Trends", "趋势"),
    "nav_agents": ("Agents", "坐席评分"),
    "nav_alerts": ("Alerts", "告警"),
    "trends_title": ("Trends", "趋势"),
    "agents_page_title": ("Agent scorecards", "坐席评分卡"),
    "range_today": ("Today", "今天"),
    "range_yesterday": ("Yesterday", "昨天"),
    "range_this_week": ("This week", "本周"),
    "range_last_week": ("Last week", "上周"),
    "range_last_30_days": ("Last 30 days", "最近 30 天"),
    "range_custom": ("Chosen days", "自选日期"),
    "bucket_15m": ("By 15 min", "按 15 分钟"),
    "bucket_1h": ("By hour", "按小时"),
    "bucket_1d": ("By day", "按天"),
    "bucket_1w": ("By week", "按周"),
    "bucket_1mo": ("By month", "按月"),
    "bucket_shift": ("By shift", "按班次"),
    "all_shifts": ("All shifts", "全部班次"),
    "chart_volume": ("Calls offered, answered and abandoned", "呼入、已接与放弃"),
    "chart_asa": ("ASA against the answer target", "平均应答时长与应答目标"),
    "chart_rates": ("On-time answer rate and service level", "及时应答率与服务水平"),
    "chart_abandon": ("Abandon rate", "放弃率"),
    "chart_holds": ("Holds over the limit", "保留超时"),
    "chart_callbacks": ("Callbacks kept and missed", "按时与逾期回电"),
    "chart_heatmap": ("Service level by weekday and hour", "按星期和小时的服务水平"),
    "chart_shifts": ("Shift against shift", "班次对比"),
    "chart_periods": ("This period against the one before", "本期与上期对比"),
    "answer_target": ("answer target", "应答目标"),
    "amber_below": ("amber below", "低于此线显示黄色"),
    "red_below": ("red below", "低于此线显示红色"),
    "holds_within": ("holds within the limit", "未超时保留"),
    "holds_over_limit": ("holds over the limit", "超时保留"),
    "callbacks_kept": ("callbacks kept", "按时回电"),
    "callbacks_missed": ("callbacks missed", "逾期回电"),
    "this_period": ("This period", "本期"),
    "previous_period": ("Previous period", "上期"),
    "figure": ("Figure", "指标"),
    "change": ("Change", "变化"),
    "weekday_0": ("Mon", "周一"),
    "weekday_1": ("Tue", "周二"),
    "weekday_2": ("Wed", "周三"),
    "weekday_3": ("Thu", "周四"),
    "weekday_4": ("Fri", "周五"),
    "weekday_5": ("Sat", "周六"),
    "weekday_6": ("Sun", "周日"),
    "hour": ("Hour", "小时"),
    "download": ("Download", "下载"),
    "rank": ("Rank", "排名"),
    "rank_change": ("Since the period before", "较上期"),
    "previous_score": ("Score before", "上期评分"),
    "new_in_ranking": ("new", "新上榜"),
    "score_by_day": ("Score by day", "每日评分"),
    "scorecard": ("Scorecard", "评分卡"),
    "print": ("Print", "打印"),
    "all_agents_ranked": ("All agents", "全部坐席"),
    "no_agent_figures": ("Nothing counted for any agent in these days", "这些日期内没有坐席数据"),
    "no_such_agent": ("Nothing counted for this agent in these days", "这些日期内没有该坐席的数据"),
    "day": ("Day", "日期"),
    "period": ("Period", "期间"),
}


def text(key: str, language: str) -> str:
    english, chinese = _TEXT[key]
    return chinese if language == "zh-Hans" else english


def state_label(state: str, language: str) -> str:
    """An agent state's name; a state the feed invents is shown as sent."""
    key = f"state_{state}"
    return text(key, language) if key in _TEXT else state


def event_label(event_type: str, language: str) -> str:
    """An event type's name; a type without one is shown as sent."""
    key = f"event_{event_type}"
    return text(key, language) if key in _TEXT else event_type


def released_label(released_by: str | None, language: str) -> str | None:
    key = f"released_{released_by}"
    return text(key, language) if key in _TEXT else released_by


def language(requested: str | None, default: str) -> str:
    """The language a page asked for, if Callboard has it, else the site's."""
    return requested if requested in LANGUAGES else default
