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
}


def text(key: str, language: str) -> str:
    english, chinese = _TEXT[key]
    return chinese if language == "zh-Hans" else english


def state_label(state: str, language: str) -> str:
    """An agent state's name; a state the feed invents is shown as sent."""
    key = f"state_{state}"
    return text(key, language) if key in _TEXT else state


def language(requested: str | None, default: str) -> str:
    """The language a page asked for, if Callboard has it, else the site's."""
    return requested if requested in LANGUAGES else default
