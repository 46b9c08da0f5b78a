"""HTML text of Dash's plain HTML components, for the parts of a page the browser puts in place itself.

The live pages (the wall, the floor view) are drawn with ``dash.html`` components like any other,
but their live parts reach the browser as HTML text, which assets/callboard.js puts in place
without Dash's renderer: a 4K wall is over a thousand components, and each change pushed through
Dash's store costs every one of them a look-up in the renderer, several times a change. Only what
such a part can hold is drawn: plain elements with their class, title, role, a cell's span and
``data-*`` / ``aria-*`` attributes, text and numbers. Anything else (a callback's id, a style, a
Dash control) is refused, so nothing a page needs from Dash is dropped silently; a button in a
part is plain, and the page's script handles its clicks.
"""
from __future__ import annotations

from html import escape
from typing import Any

from dash.development.base_component import Component

HTML_NAMESPACE = "dash_html_components"
# Elements with no closing tag.
VOID = frozenset({"area", "br", "col", "hr", "img", "wbr"})
# Dash's property names -> HTML attribute names, for the plain attributes a part may have.
ATTRIBUTES = {"className": "class", "title": "title", "role": "role", "colSpan": "colspan", "rowSpan": "rowspan"}


class NotMarkup(ValueError):
    """A part holds what cannot be drawn as plain HTML (a control, a callback id, a style)."""


def markup(children: Any) -> str:
    """The HTML text of ``children``: a component, text, a number, None, or a list of them."""
    if children is None:
        return ""
    if isinstance(children, str):
        return escape(children, quote=False)
    if isinstance(children, int | float) and not isinstance(children, bool):
        return str(children)
    if isinstance(children, list | tuple):
        return "".join(markup(child) for child in children)
    if isinstance(children, Component) and children._namespace == HTML_NAMESPACE:
        return _element(children)
    raise NotMarkup(f"{type(children).__name__} cannot be drawn as plain HTML")


def _attribute_order(prop: tuple[str, Any]) -> tuple[bool, str]:
    """Plain attributes first, in Dash's order (a stable sort keeps it), then data-* and aria-* by name."""
    name = prop[0]
    wildcard = name.startswith(("data-", "aria-"))
    return wildcard, name if wildcard else ""


def _element(component: Component) -> str:
    tag = component._type.lower()
    attributes = []
    # Dash gives data-* and aria-* in no fixed order; sorted, the same part is always the same text.
    for name, value in sorted(component.to_plotly_json()["props"].items(), key=_attribute_order):
        if name == "children" or value is None:
            continue
        if name in ATTRIBUTES:
            attribute = ATTRIBUTES[name]
        elif name.startswith(("data-", "aria-")):
            attribute = name
        else:
            raise NotMarkup(f"{component._type}.{name} cannot be drawn as plain HTML")
        attributes.append(f' {attribute}="{escape(str(value))}"')
    opening = f"<{tag}{''.join(attributes)}>"
    if tag in VOID:
        return opening
    return f"{opening}{markup(getattr(component, 'children', None))}</{tag}>"
