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
    "wall_link": ("Wall display", "大屏"),
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
