"""What personal data is and how it is shown to whoever may not see it in full (callboard/privacy.py)."""

from __future__ import annotations

import pytest

from callboard import privacy


@pytest.mark.parametrize("number, shown", [
    ("+44 20 7946 0001", "•••• 0001"),
    ("(020) 7946-0958", "•••• 0958"),
    ("+8613800000001", "•••• 0001"),
    ("12345", "••••"),  # too short: its last 4 digits would be most of it
    ("call 07946 000 111", "••••"),  # digits mixed with words: not a plain number
    ("anonymous", "••••"),
    ("", None),
    (None, None),
])
def test_a_number_is_shown_by_its_last_four_digits_at_most(number, shown):
    assert privacy.mask_number(number) == shown


@pytest.mark.parametrize("customer, shown", [
    ("+44 20 7946 0001", "•••• 0001"),
    ("Customer One", "••••"),  # a name: nothing of it
    ("李娜", "••••"),
    ("li.wei@example.com", "••••"),
    ("12345", "••••"),
    ("", None),
    (None, None),
])
def test_a_customer_is_shown_by_the_last_four_digits_of_a_phone_number_at_most(customer, shown):
    assert privacy.mask_customer(customer) == shown


def test_a_name_shows_nothing_of_itself():
    assert privacy.mask_name("Wang Fang") == "••••" and privacy.mask_name(None) is None


def test_a_value_masked_already_keeps_what_it_shows():
    assert privacy.mask_customer("•••• 0001") == "•••• 0001"
    assert privacy.mask_number("••••") == "••••"
    assert privacy.mask_customer("•••• 0001 2") == "••••"  # not a mask: masked


def test_whoever_may_see_full_values_gets_them_whole_and_everyone_else_masked():
    assert privacy.shown_number("+86 10 5555 0101", full=True) == "+86 10 5555 0101"
    assert privacy.shown_number("+86 10 5555 0101", full=False) == "•••• 0101"
    assert privacy.shown_customer("李娜", full=True) == "李娜"
    assert privacy.shown_customer("李娜", full=False) == "••••"
