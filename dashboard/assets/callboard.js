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

  var offsetMs = 0;  // server clock minus browser clock, from the latest snapshot
  var lastAsOf = null;

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

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    callboard: {
      // Every pattern-matching part {type, part} on the page, from the view's parts[type][part].
      fill: function (view) {
        var noUpdate = window.dash_clientside.no_update;
        return window.dash_clientside.callback_context.outputs_list.map(function (output) {
          var parts = view && view.parts[output.id.type];
          return parts && output.id.part in parts ? parts[output.id.part] : noUpdate;
        });
      },

      tick: function (_n, view, timerIds) {
        var specs = view && view.timers;
        if (!specs || !specs.timers) {
          return [timerIds.map(function () { return window.dash_clientside.no_update; }),
                  timerIds.map(function () { return window.dash_clientside.no_update; })];
        }
        if (specs.as_of !== lastAsOf) {
          lastAsOf = specs.as_of;
          offsetMs = Date.parse(specs.as_of) - Date.now();
        }
        var now = Date.now() + offsetMs;
        var texts = [], classes = [];
        timerIds.forEach(function (id) {
          var spec = specs.timers[id.index];
          if (!spec) { texts.push(window.dash_clientside.no_update); classes.push("timer"); return; }
          var from = Date.parse(spec.from);
          var seconds = spec.mode === "down" ? (from - now) / 1000 : (now - from) / 1000;
          var hidden = spec.hide_below !== undefined && seconds <= spec.hide_below ? " under-limit" : "";
          texts.push(duration(seconds));
          classes.push("timer" + level(spec, seconds) + hidden);
        });
        return [texts, classes];
      }
    }
  });
})();
