// Live pages (staff inbox and ticket page, the portal's ticket page): poll the URL in the page's
// [data-live-url] element and let htmx swap in what the server answers (204: nothing changed; else
// a new copy of that element and, out of band, the parts that changed). Every 2 s (or the element's
// data-live-every, in ms) while the tab is visible, every 15 s while it is hidden; when a poll fails
// (the server restarting) wait 1, 2, 4 ... up to 10 s and try again.
(function () {
  "use strict";
  var VISIBLE_MS = 2000;
  var HIDDEN_MS = 15000;
  var MAX_BACKOFF_MS = 10000;
  var failures = 0;
  var timer = null;
  var inFlight = false;

  function feed() {
    return document.querySelector("[data-live-url]");
  }

  function pollUrl(el) {
    var url = new URL(el.dataset.liveUrl, window.location.href);
    // The inbox's filters live in the address bar (htmx pushes them): send them along.
    if (el.hasAttribute("data-live-filters")) {
      new URLSearchParams(window.location.search).forEach(function (value, key) {
        if (key !== "since") url.searchParams.append(key, value);
      });
    }
    return url.toString();
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function nextDelay() {
    if (failures) return Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, failures - 1));
    if (document.visibilityState === "hidden") return HIDDEN_MS;
    var el = feed();
    return (el && Number(el.dataset.liveEvery)) || VISIBLE_MS;
  }

  function poll() {
    var el = feed();
    if (!el || inFlight) return;
    inFlight = true;
    fetch(pollUrl(el), { headers: { "HX-Request": "true" }, credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.status === 204) return null;
        if (!response.ok) throw new Error("poll answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        failures = 0;
        var el = feed();
        if (html && el) htmx.swap(el, html, { swapStyle: "outerHTML" });
      })
      .catch(function () {
        failures += 1;
      })
      .finally(function () {
        inFlight = false;
        schedule(nextDelay());
      });
  }

  // A message the page already shows (a changed draft, or one an action's answer brought first)
  // replaces its old copy instead of being appended twice; a part holding the field someone is
  // editing is left alone (the next change brings it again).
  function editing(el) {
    var active = document.activeElement;
    return active && active !== document.body && el.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (target.id === "messages") {
      event.detail.fragment.querySelectorAll("article[id], li[id]").forEach(function (incoming) {
        var existing = document.getElementById(incoming.id);
        if (!existing) return;
        if (!editing(existing)) {
          existing.replaceWith(incoming);
          htmx.process(incoming);
        } else {
          incoming.remove();
        }
      });
    } else if (!target.hasAttribute("data-live-url") && editing(target)) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !failures) schedule(0);
  });

  // "Someone else is replying": tell the server while this agent types in the composer.
  var lastTyping = 0;
  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["x-csrftoken"];
    } catch (e) {
      return "";
    }
  }
  function sendTyping(stopped) {
    var el = feed();
    if (!el || !el.dataset.typingUrl) return;
    var body = new URLSearchParams();
    if (stopped) body.set("stopped", "1");
    fetch(el.dataset.typingUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      body: body,
      credentials: "same-origin",
    }).catch(function () {});
  }
  document.addEventListener("input", function (event) {
    if (!event.target.closest || !event.target.closest("#composer")) return;
    var now = Date.now();
    if (now - lastTyping > 3000) {
      lastTyping = now;
      sendTyping(false);
    }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.id === "composer" && lastTyping) {
      lastTyping = 0;
      sendTyping(true);
    }
  });

  schedule(nextDelay());
})();
