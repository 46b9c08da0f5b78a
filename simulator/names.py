"""Names for the simulated floor: agents, teams, customers, queues and phone numbers.

Every function takes the caller's ``random.Random`` so that a floor built from the same
seed always staffs the same people.
"""

from __future__ import annotations

import random

#: Queue ids of the default floor, busiest first.
DEFAULT_QUEUES: tuple[str, ...] = ("billing", "technical", "sales", "complaints")

#: Team names; a team is a supervisor's group of agents on the same shift.
TEAMS: tuple[str, ...] = (
    "Aurora", "Bamboo", "Harbour", "Lotus", "Maple", "Summit",
    "Jade", "Willow", "Beacon", "Orchid", "Cedar", "Lantern",
    "Pearl", "Falcon", "Peony", "Meridian", "Crane", "Tide",
)

_CHINESE_SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高",
    "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
)
_CHINESE_GIVEN_NAMES = (
    "芳", "娜", "伟", "敏", "静", "丽", "强", "磊", "军", "洋",
    "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚",
    "婷", "浩", "宇", "鹏", "琳", "斌", "晨", "颖", "秀英", "桂英",
    "欣怡", "子轩", "雨涵", "浩然", "思远", "佳琪", "俊杰", "晓燕", "志强", "文博",
)
_ENGLISH_GIVEN_NAMES = (
    "Emma", "Oliver", "Amelia", "Jack", "Sophie", "Harry", "Grace", "Thomas",
    "Chloe", "James", "Lucy", "Daniel", "Hannah", "Samuel", "Ella", "Ryan",
    "Megan", "David", "Laura", "Michael", "Zoe", "Kevin", "Rachel", "Simon",
)
_ENGLISH_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright",
    "Robinson", "Thompson", "Hughes", "Green", "Hall", "Wood", "Clarke", "Turner",
    "Cooper", "Hill", "Ward", "Morris", "Baker", "Harris", "King", "Lee",
)
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "155", "156", "158", "159", "177", "186", "187", "188", "189",
)


def chinese_name(rng: random.Random) -> str:
    """Return a name such as 王芳 or 陈思远, written in Chinese characters."""
    return rng.choice(_CHINESE_SURNAMES) + rng.choice(_CHINESE_GIVEN_NAMES)


def english_name(rng: random.Random) -> str:
    """Return a name such as "Emma Walker"."""
    return f"{rng.choice(_ENGLISH_GIVEN_NAMES)} {rng.choice(_ENGLISH_SURNAMES)}"


def person_name(rng: random.Random) -> str:
    """Return a customer or agent name: mostly Chinese, sometimes English."""
    return chinese_name(rng) if rng.random() < 0.65 else english_name(rng)


def unique_person_names(rng: random.Random, count: int) -> list[str]:
    """Return ``count`` different person names, for a roster where names must not clash."""
    chosen: list[str] = []
    seen: set[str] = set()
    while len(chosen) < count:
        name = person_name(rng)
        if name not in seen:
            seen.add(name)
            chosen.append(name)
    return chosen


def team_name(index: int) -> str:
    """Return the name of the ``index``-th team, numbered once the plain names run out."""
    base = TEAMS[index % len(TEAMS)]
    return base if index < len(TEAMS) else f"{base} {index // len(TEAMS) + 1}"


def phone_number(rng: random.Random) -> str:
    """Return a caller's mobile number written like "+86 138 0013 8000"."""
    return (
        f"+86 {rng.choice(_MOBILE_PREFIXES)} "
        f"{rng.randrange(10_000):04d} {rng.randrange(10_000):04d}"
    )
