// The browser side of the live pages: each pushed view (dashboard/views.py) put in place, and
// timers that tick between pushes: hold times, waits, time in state, time left.
// Formats match dashboard/format.py.
(function () {
  function duration(seconds) {
    var sign = seconds < 0 ? "-" : "";
    var total = Math.floor(Math.abs(seconds));
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return sign + (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  // The JSON text of each Dash part as last given to the page, by "type/part" (see fill).
  var shownParts = {};

  // Every timer the latest view can show, by key (dashboard/timers.py), and the server's clock
  // minus the browser's, from that view.
  var timerSpecs = {}, offsetMs = 0;

  // Each view pushed to a live page (dashboard/views.py: JSON text) arrives as the data-view
  // attribute of the page's view holder (ids.LIVE_VIEW), set by the push and when the page
  // opens (dashboard/app.py); the page's script shows it from there. It is no Dash callback's
  // input: Dash keeps, for undo, every earlier value of an input that a callback did not set, and
  // a wall's pushes would pile up in it for as long as the wall is open.
  new MutationObserver(function (records) {
    var holder = records[records.length - 1].target, text = holder.getAttribute("data-view");
    // Its view taken away (Dash drew the page again, from its layout): the next is shown afresh.
    if (!text || records.some(function (record) { return record.oldValue === null; })) holder.shownFor = null;
    if (text) show(holder, JSON.parse(text));
  }).observe(document.documentElement,
             {subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ["data-view"]});

  function show(holder, view) {
    // Only the page the view was drawn for takes it (a push may cross the opening of another).
    if (!document.querySelector('[data-page="' + view.page + '"]')) return;
    var timers = view.timers;
    if (timers && timers.timers) {
      timerSpecs = timers.timers;
      offsetMs = Date.parse(timers.as_of) - Date.now();
    }
    var fresh = holder.shownFor !== view.page;  // the first view this page shows
    holder.shownFor = view.page;
    place(view);
    fill(view, fresh);
    if (view.data && view.data.choices) offerChoices(view.data.choices);
  }

  // The Dash component ``id`` as the page's layout has it, or null when the page has none (Dash's
  // look-up gives another component, or fails, for an id it does not know). Not the DOM: Dash
  // draws some components (the dropdowns) only once their code has loaded.
  function component(id) {
    var api = window.dash_component_api;
    try {
      var found = api.getLayout(id);
      return found && found.props && api.stringifyId(found.props.id) === api.stringifyId(id) ? found : null;
    } catch (error) {
      return null;
    }
  }

  // Every part of a page drawn as HTML text (the view's markup: the wall, the floor view), put
  // in its element ([data-part]) by the browser itself, not through Dash's renderer: a change
  // costs the parts it changed, however many elements the page has. A part already shown as
  // the view has it is left alone; an element just made (the page opened again) gets its part.
  // A part made of rows (a list of texts: a table's rows, a list's items, the tiles) has only
  // its new rows made (placeRows). A part redrawn keeps the keyboard's place: the agent whose
  // name had the focus has it again.
  function place(view) {
    var parts = view.markup;
    if (!parts) return;
    document.querySelectorAll('[data-page="' + view.page + '"] [data-part]').forEach(function (element) {
      var markup = parts[element.getAttribute("data-part")];
      if (markup === undefined || element.shownMarkup === markup) return;
      var active = document.activeElement;
      var focused = element.contains(active) && active.getAttribute("data-drill");
      if (Array.isArray(markup)) placeRows(element, markup);
      else element.innerHTML = markup;
      element.shownMarkup = markup;
      if (focused && !element.contains(document.activeElement)) {
        var again = element.querySelector('[data-drill="' + CSS.escape(focused) + '"]');
        if (again) again.focus();
      }
    });
  }

  // A row whose text is one the element shows already keeps its element; only rows with a new
  // text are made. A row that comes before it (a new agent at the top) or leaves does not touch
  // the others, which keep the person's selection; one that moves is moved.
  var rowMaker = document.createElement("template");
  function placeRows(element, rows) {
    var shown = Array.isArray(element.shownMarkup) ? element.shownMarkup : null;
    if (!shown || element.children.length !== shown.length) {  // first drawn, or drawn otherwise before
      element.innerHTML = rows.join("");
      return;
    }
    var showing = new Map();  // text -> the elements showing it, in order
    for (var n = 0; n < shown.length; n++) {
      if (!showing.has(shown[n])) showing.set(shown[n], []);
      showing.get(shown[n]).push(element.children[n]);
    }
    rows.forEach(function (text, n) {
      var same = showing.get(text), row = same && same.length ? same.shift() : null;
      if (!row) {
        rowMaker.innerHTML = text;
        row = rowMaker.content.firstElementChild;
      }
      var there = element.children[n];
      if (there !== row) element.insertBefore(row, there || null);
    });
    while (element.children.length > rows.length) element.removeChild(element.lastElementChild);
  }

  // Every pattern-matching part {type, part} of the view's parts[type][part] (the alerts page's
  // Dash components), given to Dash. A part the page already shows as the view has it is left
  // alone: a change redraws only the parts it changed.
  function fill(view, fresh) {
    if (fresh) shownParts = {};
    var types = view.parts || {};
    Object.keys(types).forEach(function (type) {
      Object.keys(types[type]).forEach(function (part) {
        var children = types[type][part], key = type + "/" + part, text = JSON.stringify(children);
        if (shownParts[key] === text || !component({type: type, part: part})) return;
        shownParts[key] = text;
        window.dash_clientside.set_props({type: type, part: part}, {children: children});
      });
    });
  }

  // The floor view's filters offer every queue, team and agent of the whole floor (and keep
  // whatever is chosen, even when it has nothing on today).
  function offerChoices(choices) {
    Object.keys(choices).forEach(function (filter) {
      var id = {type: "floor-filter", filter: filter}, shown = component(id);
      if (!shown) return;
      var options = choices[filter].slice(), value = shown.props.value;
      var chosen = value === null || value === undefined ? [] : [].concat(value);
      chosen.forEach(function (one) {
        if (!options.some(function (o) { return o.value === one; })) options.push({label: one, value: one});
      });
      if (JSON.stringify(options) !== JSON.stringify(shown.props.options)) {
        window.dash_clientside.set_props(id, {options: options});
      }
    });
  }

  function level(spec, seconds) {
    if (spec.mode === "down") {
      if (spec.red !== undefined && seconds <= spec.red) return " red flash";
      if (spec.amber !== undefined && seconds < spec.amber) return " amber";
      return "";
    }
    if (spec.red !== undefined && seconds > spec.red) return " red";
    if (spec.amber !== undefined && seconds > spec.amber) return " amber";
    return "";
  }

  // Lists that show as many rows as fit ([data-fit]): the rest are cut, and the list's
  // [data-more-for] says how many ("+12 more") rather than cutting them off silently. Every row is
  // measured in one pass (one layout), and only when the page's rows change (a push, a hold
  // passing its limit, a resize): never on a timer, which would lay a 4K wall out again and again.
  function fitList(list) {
    var items = Array.prototype.slice.call(list.children);
    items.forEach(function (item) { item.classList.remove("cut"); });
    var bottom = list.getBoundingClientRect().bottom + 0.5;
    var places = items.map(function (item) {  // reads only, after the writes above
      return {undrawn: item.classList.contains("undrawn"), hidden: item.offsetParent === null,
              bottom: item.getBoundingClientRect().bottom};
    });
    var cut = 0;
    items.forEach(function (item, n) {
      var place = places[n];
      if (place.undrawn) { cut += Number(item.getAttribute("data-count")); return; }
      if (place.hidden) return;  // hidden by the page itself (a hold under the limit)
      if (cut || place.bottom > bottom) { item.classList.add("cut"); cut++; }
    });
    var more = document.querySelector('[data-more-for="' + list.getAttribute("data-fit") + '"]');
    if (more) {
      var said = cut ? "+" + cut + " " + more.getAttribute("data-more-label") : "";
      if (more.textContent !== said) more.textContent = said;
    }
  }

  var fitting = null;
  var rowsChanged = new MutationObserver(function () {
    if (fitting === null) fitting = requestAnimationFrame(fit);
  });
  function fit() {
    fitting = null;
    tick();  // timers just drawn (empty) get their text before the page is painted
    document.querySelectorAll("[data-fit]").forEach(fitList);
    rowsChanged.takeRecords();  // its own changes of "cut" call for no second pass
  }
  rowsChanged.observe(document.documentElement,
                      {subtree: true, childList: true, attributes: true, attributeFilter: ["class"]});
  window.addEventListener("resize", fit);

  // One loop for the page moves every timer ([data-timer]) on in place: its text, and its colour
  // at the limits, from the moment it counts from. No Dash update and no re-render: the text node
  // is changed, not replaced (where React made it, as on the alerts page, the next push still
  // lands in it).
  function tick() {
    var now = Date.now() + offsetMs;
    var shown = document.querySelectorAll("[data-timer]");
    for (var n = 0; n < shown.length; n++) {
      var element = shown[n], spec = timerSpecs[element.getAttribute("data-timer")];
      if (!spec) {  // nothing to count from (no data yet): the page's mark for a missing figure
        if (!element.firstChild) element.appendChild(document.createTextNode("\u2013"));
        continue;
      }
      if (spec.fromMs === undefined) spec.fromMs = Date.parse(spec.from);
      var seconds = spec.mode === "down" ? (spec.fromMs - now) / 1000 : (now - spec.fromMs) / 1000;
      var text = duration(seconds), node = element.firstChild;
      if (node && node.nodeType === Node.TEXT_NODE) {
        if (node.nodeValue !== text) node.nodeValue = text;
      } else if (!node) {
        element.appendChild(document.createTextNode(text));
      }
      var hidden = spec.hide_below !== undefined && seconds <= spec.hide_below ? " under-limit" : "";
      var classes = "timer" + level(spec, seconds) + hidden;
      if (element.className !== classes) element.className = classes;
    }
  }
  setInterval(tick, 250);

  // An agent's name in the floor view's live table ([data-drill], not a Dash component: see
  // place) opens that agent's calls today, as the drill-down's own links do.
  document.addEventListener("click", function (event) {
    var name = event.target.closest && event.target.closest("[data-drill]");
    if (!name) return;
    var setProps = window.dash_clientside.set_props;
    setProps("floor-drill", {data: {agent: name.getAttribute("data-drill"), feed: null, call: null}});
    setProps("floor-refresh", {disabled: false});
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    callboard: {
      // A rotating wall's next view: the page's own request with the next view's filters.
      rotate: function (n, rotation, page) {
        var views = rotation.views;
        var next = views[n % views.length];
        return Object.assign({}, page, {queues: next.queues, team: next.team});
      },

      // What the floor view asks to be shown, from its filters and the sort header last clicked.
      floorRequest: function (values, _clicks, page) {
        var context = window.dash_clientside.callback_context;
        var noUpdate = window.dash_clientside.no_update;
        var next = Object.assign({}, page);
        var trigger = context.triggered_id;
        var triggered = context.triggered.length && context.triggered[0].value;
        if (trigger && trigger.type === "floor-sort" && triggered) {
          var column = trigger.column;
          var textual = ["name", "team", "state"].indexOf(column) >= 0;
          next.descending = page.sort === column ? !page.descending : !textual;
          next.sort = column;
        } else if (trigger && trigger.type === "floor-filter") {
          context.inputs_list[0].forEach(function (input) {
            var value = input.value;
            if (input.id.filter === "queues") next.queues = value && value.length ? value : null;
            else next[input.id.filter] = value || null;
          });
        }
        var changed = JSON.stringify(next) !== JSON.stringify(page);
        var classes = context.outputs_list[1].map(function (output) {
          if (output.id.column !== next.sort) return "sort";
          return "sort active " + (next.descending ? "desc" : "asc");
        });
        return [changed ? next : noUpdate, classes];
      },

      // The drill-down: one call's timeline from the agent's calls; Close shuts it.
      floorDrill: function (_calls, _close, drill) {
        var context = window.dash_clientside.callback_context;
        var noUpdate = window.dash_clientside.no_update;
        var trigger = context.triggered_id;
        var clicked = context.triggered.length && context.triggered[0].value;
        if (!trigger || !clicked) return [noUpdate, noUpdate];
        var next = {agent: null, feed: null, call: null};
        if (trigger.type === "floor-call") {
          next = {agent: (drill || {}).agent || null, feed: trigger.feed, call: trigger.call};
        }
        return [next, !(next.agent || next.call)];
      },

      // The floor view's address, kept in step with what it shows.
      floorAddress: function (page, drill) {
        var params = new URLSearchParams();
        if (page.lang) params.set("lang", page.lang);
        if (page.queues && page.queues.length) params.set("queue", page.queues.join(","));
        if (page.team) params.set("team", page.team);
        if (page.agent) params.set("agent", page.agent);
        if (page.sort && page.sort !== "name") params.set("sort", page.sort);
        if (page.descending) params.set("desc", "1");
        if (drill && drill.agent) params.set("drill", drill.agent);
        if (drill && drill.call) {
          params.set("feed", drill.feed);
          params.set("call", drill.call);
        }
        var search = params.toString();
        return search ? "?" + search : "";
      }
    }
  });
})();
