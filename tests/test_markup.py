"""The HTML text of a part the browser puts in place itself: what Dash would have drawn, safely."""

from __future__ import annotations

import pytest
from dash import dcc, html

from dashboard.markup import NotMarkup, markup


def test_elements_keep_their_class_title_role_and_data_attributes():
    drawn = markup(html.Div(className="tile", title="Waiting", role="status", **{"data-queue": "billing",
                                                                                  "aria-label": "Billing"},
                            children=[html.Span("3", className="value"), " offered", html.Br(), 2.5, None]))

    assert drawn == ('<div class="tile" role="status" title="Waiting" aria-label="Billing" data-queue="billing">'
                     '<span class="value">3</span> offered<br>2.5</div>')


def test_text_and_attributes_from_the_feed_cannot_make_elements():
    drawn = markup(html.Span('<img src=x onerror="alert(1)">&', title='"><script>', **{"data-agent": "a\"b"}))

    assert drawn == ('<span title="&quot;&gt;&lt;script&gt;" data-agent="a&quot;b">'
                     '&lt;img src=x onerror="alert(1)"&gt;&amp;</span>')
    assert "<img" not in drawn and "<script" not in drawn


def test_a_cell_keeps_its_span():
    assert markup(html.Td("None yet", colSpan=13, className="empty")) == '<td class="empty" colspan="13">None yet</td>'


def test_nothing_drawn_for_none_and_lists_drawn_in_order():
    assert markup(None) == ""
    assert markup([html.B("1"), [html.I("2")], "3"]) == "<b>1</b><i>2</i>3"


@pytest.mark.parametrize("part", [
    html.Button("Acknowledge", id={"type": "act", "alert": 1}),  # a callback's id
    html.Div(style={"color": "red"}),
    html.A("link", n_clicks=1),
    dcc.Graph(),  # not a plain element
    html.Div(children=[html.Span(dcc.Dropdown())]),  # however deep
    True,
])
def test_what_needs_dash_is_refused_not_dropped(part):
    with pytest.raises(NotMarkup):
        markup(part)
