/* jobdelta pages: small comforts on top of pages that work without JavaScript.
   - a filter form marked data-autosubmit submits itself when a select or a
     checkbox changes (text fields still wait for Enter or the button);
   - empty fields are left out of the submitted URL, so links stay short;
   - every <time datetime> gets its relative time ("3 hours ago") as a tooltip;
   - on a posting page, [ and ] step the version comparison to the earlier
     or later pair of versions. */
(function () {
  "use strict";

  function submitWithoutEmpty(form) {
    var disabled = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !el.disabled && el.value === "" && el.type !== "checkbox") {
        el.disabled = true;
        disabled.push(el);
      }
    });
    form.submit();
    // after a back navigation the page may come from the cache: re-enable
    setTimeout(function () { disabled.forEach(function (el) { el.disabled = false; }); }, 0);
  }

  function autosubmit() {
    document.querySelectorAll("form.filters, form.compare").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        submitWithoutEmpty(form);
      });
      if (!form.hasAttribute("data-autosubmit")) return;
      form.addEventListener("change", function (event) {
        var t = event.target;
        if (t.tagName === "SELECT" || t.type === "checkbox" || t.type === "date") {
          submitWithoutEmpty(form);
        }
      });
    });
  }

  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60], ["second", 1]];

  function relative(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    var fmt = window.Intl && Intl.RelativeTimeFormat
      ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
    for (var i = 0; i < UNITS.length; i++) {
      var unit = UNITS[i];
      if (Math.abs(seconds) >= unit[1] || unit[0] === "second") {
        var n = Math.round(seconds / unit[1]);
        if (fmt) return fmt.format(n, unit[0]);
        var abs = Math.abs(n) + " " + unit[0] + (Math.abs(n) === 1 ? "" : "s");
        return n < 0 ? abs + " ago" : "in " + abs;
      }
    }
    return "";
  }

  function timeTooltips() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var value = el.getAttribute("datetime");
      if (value.length <= 10) return; // a day heading: its text says it
      var date = new Date(value);
      if (isNaN(date.getTime())) return;
      el.title = relative(date) + " (" + date.toLocaleString() + ")";
    });
  }

  function versionKeys() {
    var form = document.querySelector("form.compare");
    if (!form) return;
    var from = form.elements.namedItem("from");
    var to = form.elements.namedItem("to");
    var count = parseInt(form.getAttribute("data-versions"), 10);
    if (!from || !to || !(count > 1)) return;
    var hint = form.querySelector("[data-js-hint]");
    if (hint) hint.hidden = false;
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var t = event.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
      var step = event.key === "[" ? -1 : event.key === "]" ? 1 : 0;
      if (!step) return;
      var target = parseInt(to.value, 10) + step;
      if (target < 2 || target > count) return;
      event.preventDefault();
      to.value = String(target);
      from.value = String(target - 1);
      submitWithoutEmpty(form);
    });
  }

  function start() {
    autosubmit();
    timeTooltips();
    versionKeys();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
