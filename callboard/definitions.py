"""How each figure on the wall is defined, in words, in English and Simplified Chinese.

One source for the wall's explanations (under each tile with ``?explain=1``, and as tooltips) and
for ``docs/metrics.md``, whose tables carry the English text of each definition written with the
symbols **T**, **S**, **A** and **R** (``doc_text``); a test checks that the two agree. On the wall
the symbols become the thresholds in force (``define``). The code that computes each figure is in
:mod:`callboard.metrics`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# name: (English, Simplified Chinese); {T} answer target, {S} short-abandon time,
# {A} and {R} the rates below which a figure shows amber and red.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "waiting": ("calls queued, or sent back to a queue, and not answered, abandoned or ended since",
                "已排队（或转回队列）且尚未应答、放弃或结束的来电"),
    "longest_wait": ("now − the time the longest-waiting caller started waiting",
                     "当前时间 − 等待最久的来电开始等待的时间"),
    "asa": ("answer time summed / answered, where answer time = answered time − queued time",
            "应答时长总和 / 已接，应答时长 = 应答时间 − 排队时间"),
    "on_time": ("answered within T / answered", "T 内应答 / 已接"),
    "service_level": ("answered within T / (answered + abandoned − abandoned after less than S)",
                      "T 内应答 / (已接 + 放弃 − 等待不足 S 即放弃)"),
    "abandon_rate": ("(abandoned − abandoned after less than S) / (answered + abandoned − abandoned after less than S)",
                     "(放弃 − 等待不足 S 即放弃) / (已接 + 放弃 − 等待不足 S 即放弃)"),
    "rate_colours": ("amber below A, red below R", "低于 A 显示黄色，低于 R 显示红色"),
    "counts": ("offered: calls queued today; answered: calls answered today (first answer); "
               "abandoned: callers who hung up while waiting, today",
               "呼入：今日排队的来电；已接：今日应答的来电（首次应答）；放弃：今日等待中挂断的来电"),
    "queue_agents": ("on call: the queue's calls in progress now; on hold: of those, calls with a hold running now",
                     "通话中：该队列正在进行的通话；保留中：其中正处于保留的通话"),
    "queue_members": ("the queue's members (the agents the feed last said take its calls) who are logged in, by their "
                      "latest state; on hold: members with a call on hold now (also on call)",
                      "该队列成员（数据源最近一次告知的接听该队列来电的坐席）中已登录者，按最新状态统计；"
                      "保留中：当前有通话处于保留的成员（也计入通话中）"),
    "all_agents": ("agents by their latest state; on hold: agents with a call on hold now (also on call)",
                   "按最新状态统计的坐席；保留中：当前有通话处于保留的坐席（也计入通话中）"),
    "age": ("time since the ingest last stored an event from the feed", "距数据接入服务最后一次保存话务事件的时间"),
    # The managers' trends (dashboard/pages/trends.py), per bucket of time.
    "volume": ("offered: calls queued; answered: calls answered (first answer); abandoned: callers who hung up "
               "while waiting; each in the bucket in which it happened",
               "呼入：排队的来电；已接：应答的来电（首次应答）；放弃：等待中挂断的来电；均按发生时所在的时段统计"),
    "holds_over_limit": ("holds started in the bucket that lasted longer than the hold limit",
                         "该时段内开始且超过保留时限的保留"),
    "callbacks_kept": ("kept: callbacks made by the promised time; missed: complaints past their promised time "
                       "without one; each in the bucket in which it was decided",
                       "按时：在承诺时间前完成的回电；逾期：已过承诺时间仍未回电的投诉；均按判定时所在的时段统计"),
    "repeat_calls": ("calls from the same number within 24 h after a call that ended not resolved or was "
                     "abandoned; counted when offered, in the queue of the earlier call",
                     "同一号码在一通未解决或放弃的来电后 24 小时内再次来电；按来电时所在时段、前一通来电的队列统计"),
    # The agent figures of the floor view.
    "agent_answered": ("calls the agent answered (first answer)", "坐席应答的来电（首次应答）"),
    "csat": ("surveys scored 4 or 5 / surveys", "4 分或 5 分的满意度调查 / 满意度调查"),
    "resolution_rate": ("calls the agent ended resolved / calls the agent ended that say whether resolved",
                        "坐席结束且已解决的通话 / 坐席结束且标明是否解决的通话"),
    "hold_discipline": ("1 − holds longer than the hold limit / holds", "1 − 超过保留时限的保留 / 保留次数"),
    "callbacks_on_time": ("callbacks made by the promised time / complaints called back or past their promised time",
                          "按承诺时间完成的回电 / 已回电或已过承诺时间的投诉"),
    "agent_hangup_rate": ("calls the agent hung up first / calls the agent ended",
                          "坐席先挂断的通话 / 坐席结束的通话"),
    "agent_repeat_calls": ("calls from the same number within 24 h after a call not resolved or abandoned, "
                           "counted for that call's queue and agent",
                           "同一号码在一通未解决或放弃的来电后 24 小时内的再次来电，计入前一通来电的队列和坐席"),
    "score": ("weighted mean of on-time answer rate, CSAT, resolution rate, hold discipline and callbacks on "
              "time rate; a component without data is left out",
              "及时应答率、客户满意度、解决率、保留纪律和按时回电率的加权平均；无数据的项不计入"),
}

# How docs/metrics.md writes each threshold; a symbol is a capital letter standing alone.
DOC_SYMBOLS = {"T": "T", "S": "S", "A": "A", "R": "R"}
_SYMBOL = re.compile(r"(?<![\w])[TSAR](?![\w])")


def _render(template: str, symbols: Mapping[str, str]) -> str:
    return _SYMBOL.sub(lambda match: symbols[match[0]], template)


def threshold_words(thresholds: Mapping[str, Any]) -> dict[str, str]:
    """The symbols as the wall writes them, from the snapshot's thresholds."""
    return {"T": f"{thresholds['answer_target_s']:g} s", "S": f"{thresholds['short_abandon_s']:g} s",
            "A": f"{thresholds['rate_amber_below'] * 100:g}%", "R": f"{thresholds['rate_red_below'] * 100:g}%"}


def define(name: str, language: str, thresholds: Mapping[str, Any]) -> str:
    """A figure's definition with the thresholds in force, e.g. "answered within 15 s / answered"."""
    english, chinese = DEFINITIONS[name]
    return _render(chinese if language == "zh-Hans" else english, threshold_words(thresholds))


def doc_text(name: str) -> str:
    """A figure's definition as docs/metrics.md writes it (English, with the symbols)."""
    return _render(DEFINITIONS[name][0], DOC_SYMBOLS)
