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
    # --- The Alerts page, acknowledge links and alert states beside callbacks ---
    "alerts_title": ("Alerts", "告警"),
    "alerts_link": ("Alerts", "告警"),
    "floor_link": ("Floor", "现场监控"),
    "alerts_open_title": ("Open alerts", "未解决告警"),
    "alerts_none_open": ("No open alerts", "无未解决告警"),
    "alerts_history_title": ("History", "历史"),
    "alerts_history_none": ("No alerts match", "无符合条件的告警"),
    "alerts_showing": ("showing {shown} of {matching}", "显示 {shown} / {matching} 条"),
    "alerts_newer": ("Newer", "较新"),
    "alerts_older": ("Older", "较早"),
    "alerts_your_name": ("Your name", "您的姓名"),
    "alerts_name_hint": ("recorded with what you acknowledge or resolve", "确认或解决告警时记录"),
    "alerts_name_needed": ("Type your name in “Your name” first: it is recorded with the change.",
                           "请先在“您的姓名”中填写姓名：操作将以此记录。"),
    "alerts_acknowledge": ("Acknowledge", "确认"),
    "alerts_resolve": ("Resolve", "解决"),
    "alerts_did_acknowledge": ("Alert {id} acknowledged by {by}.", "告警 {id} 已由{by}确认。"),
    "alerts_did_resolve": ("Alert {id} resolved by {by}.", "告警 {id} 已由{by}解决。"),
    "alerts_already": ("Alert {id} was already {state}; nothing changed.", "告警 {id} 已是{state}状态，未作更改。"),
    "alerts_missing": ("There is no alert {id}.", "不存在告警 {id}。"),
    "alerts_kind": ("Kind", "类型"),
    "alerts_subject": ("About", "对象"),
    "alerts_level": ("Level", "级别"),
    "alerts_state": ("State", "状态"),
    "alerts_raised": ("Raised", "发生时间"),
    "alerts_age": ("Age", "持续"),
    "alerts_handled": ("Acknowledged / resolved", "确认 / 解决"),
    "alerts_notified": ("Notified", "已通知"),
    "alerts_actions": ("", ""),
    "alerts_customer": ("customer", "客户"),
    "alerts_any_state": ("Any state", "全部状态"),
    "alerts_any_kind": ("Any kind", "全部类型"),
    "alerts_any_queue": ("Any queue", "全部队列"),
    "alerts_selected": ("Alert {id}", "告警 {id}"),
    "alert_state_open": ("open", "未确认"),
    "alert_state_acknowledged": ("acknowledged", "已确认"),
    "alert_state_resolved": ("resolved", "已解决"),
    "alert_kind_callback_due_soon": ("Callback due soon", "回电即将到期"),
    "alert_kind_callback_overdue": ("Callback overdue", "回电已逾期"),
    "alert_kind_hold_too_long": ("Hold too long", "保留过长"),
    "alert_kind_queue_wait": ("Long wait", "等待过长"),
    "alert_kind_queue_service_level": ("Service level low", "服务水平偏低"),
    "alert_kind_feed_down": ("No data from the feed", "数据源无数据"),
    "notification_sent": ("sent {at}", "{at} 已发送"),
    "notification_waiting": ("not sent yet: attempt {attempts}, next {next}",
                             "尚未发送：已尝试 {attempts} 次，下次 {next}"),
    "notification_dead": ("not delivered: {reason}", "未送达：{reason}"),
    "notification_change_raised": ("raised", "告警"),
    "notification_change_escalated": ("escalated", "升级"),
    "notification_change_handed_over": ("handed over", "交接"),
    "notification_change_acknowledged": ("acknowledged", "确认"),
    "notification_change_resolved": ("resolved", "解决"),
    # Beside a callback on the wall and the floor: short, to be read from across the room.
    "alert_beside_open": ("alerted {at} to {to}", "{at} 已通知 {to}"),
    "alert_beside_open_nobody": ("alerted {at}", "{at} 已告警"),
    "alert_beside_acknowledged": ("acknowledged by {by} {at}", "{by} {at} 已确认"),
    # The acknowledge link's pages
    "ack_title": ("Acknowledge alert", "确认告警"),
    "ack_question": ("Acknowledge this alert as {who}? Escalation then stops.",
                     "以 {who} 的身份确认此告警？确认后停止升级。"),
    "ack_done": ("Acknowledged as {who} at {at}.", "已以 {who} 的身份于 {at} 确认。"),
    "ack_already_acknowledged": ("Already acknowledged by {by} at {at}.", "已由{by}于 {at} 确认。"),
    "ack_already_resolved": ("Already resolved by {by} at {at}.", "已由{by}于 {at} 解决。"),
    "ack_unusable": ("This acknowledge link cannot be used", "此确认链接无法使用"),
    "ack_disabled": ("Acknowledge links are not enabled on this Callboard.", "此 Callboard 未启用确认链接。"),
    "ack_gone": ("The alert this link was for is no longer stored.", "此链接对应的告警已不存在。"),
    "ack_open_alerts": ("Open the Alerts page", "打开告警页面"),
    "ack_open_alert": ("Open this alert in Callboard", "在 Callboard 中查看此告警"),
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


def alert_kind_label(kind: str, language: str) -> str:
    """An alert kind's name; a kind without one is shown as stored."""
    key = f"alert_kind_{kind}"
    return text(key, language) if key in _TEXT else kind
