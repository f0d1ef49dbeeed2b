// Keyboard shortcuts for the staff workspace. No shortcut fires while typing in a field (or with
// Ctrl, Alt or Cmd held); the one exception is Ctrl/Cmd+Enter in a draft, which approves it.
// The composer's saved-reply picker lives here too. Loaded as a static file (the CSP allows no
// inline scripts).
(function () {
  "use strict";

  var SHORTCUTS = [
    ["j / k", "Next / previous ticket in the inbox"],
    ["Enter", "Open the selected ticket"],
    ["r", "Reply to the customer"],
    ["n", "Write an internal note"],
    ["a", "Approve and send the assistant's draft"],
    ["e", "Edit the assistant's draft"],
    ["d", "Discard the assistant's draft"],
    ["/", "Insert a saved reply (from the page, or typed in an empty reply box)"],
    ["?", "Show or hide this list"],
    ["Esc", "Close this list or the saved replies"],
  ];

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // --- the inbox: j/k move a visible selection, Enter opens it ---------------------------------
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#ticket-list [data-row]"));
  }

  function move(step) {
    var all = rows();
    if (!all.length) return false;
    var index = all.findIndex(function (row) { return row.classList.contains("kb-current"); });
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    all.forEach(function (row) { row.classList.remove("kb-current"); row.removeAttribute("aria-current"); });
    var row = all[next];
    row.classList.add("kb-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("a[data-open]") || row.querySelector("a");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
    return true;
  }

  function openCurrent() {
    var row = document.querySelector("#ticket-list [data-row].kb-current");
    if (!row) return false;
    var link = row.querySelector("a[data-open]") || row.querySelector("a");
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  // --- the ticket page: composer and draft ------------------------------------------------------
  function composer(internal) {
    var form = document.getElementById("composer");
    if (!form) return false;
    var box = form.querySelector("input[name=internal]");
    if (box) box.checked = internal;
    var body = form.querySelector("textarea[name=body]");
    if (body) body.focus();
    return true;
  }

  function draftForm() {
    return document.querySelector(".msg-draft form.draft");
  }

  function approve() {
    var form = draftForm();
    if (!form) return false;
    var button = form.querySelector("[data-kb=approve]");
    if (form.requestSubmit) form.requestSubmit(button || undefined); else if (button) button.click();
    return true;
  }

  function editDraft() {
    var form = draftForm();
    var body = form && form.querySelector("textarea");
    if (!body) return false;
    body.focus();
    body.setSelectionRange(body.value.length, body.value.length);
    return true;
  }

  function discard() {
    var form = draftForm();
    var button = form && form.querySelector("[data-kb=discard]");
    if (!button) return false;
    button.click();
    return true;
  }

  // --- the list of shortcuts ---------------------------------------------------------------------
  function help() {
    var panel = document.getElementById("kb-help");
    if (panel) return panel;
    panel = document.createElement("div");
    panel.id = "kb-help";
    panel.className = "kb-help";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", "Keyboard shortcuts");
    panel.hidden = true;
    var title = document.createElement("h2");
    title.textContent = "Keyboard shortcuts";
    panel.appendChild(title);
    var list = document.createElement("dl");
    SHORTCUTS.forEach(function (pair) {
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = pair[1];
      list.appendChild(key);
      list.appendChild(what);
    });
    panel.appendChild(list);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "small secondary";
    close.textContent = "Close";
    close.addEventListener("click", function () { toggleHelp(false); });
    panel.appendChild(close);
    document.body.appendChild(panel);
    return panel;
  }

  var returnFocus = null;

  function toggleHelp(show) {
    var panel = help();
    var open = show === undefined ? panel.hidden : show;
    if (open && panel.hidden) {
      returnFocus = document.activeElement;
      panel.hidden = false;
      panel.querySelector("button").focus();
    } else if (!open && !panel.hidden) {
      panel.hidden = true;
      if (returnFocus && returnFocus.focus) returnFocus.focus();
    }
    return true;
  }

  // --- saved replies: the composer's picker (templates/staff/canned_picker.html) ------------------
  var insertAt = null; // where the text goes: the reply box's selection when the picker opened

  function canned() {
    var opener = document.querySelector("[data-canned-open]");
    if (!opener) return false;
    var body = document.querySelector("#composer textarea[name=body]");
    insertAt = body ? [body.selectionStart, body.selectionEnd] : null;
    var open = document.querySelector("#canned-picker [data-canned-search]");
    if (open) open.focus(); else opener.click();
    return true;
  }

  function closeCanned(focusBody) {
    var slot = document.getElementById("canned-slot");
    if (slot) slot.innerHTML = "";
    insertAt = null;
    var body = document.querySelector("#composer textarea[name=body]");
    if (focusBody && body) body.focus();
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || ""; }
    catch (e) { return ""; }
  }

  function useCanned(url) {
    fetch(url, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("saved reply: " + response.status);
        return response.text();
      })
      .then(function (text) {
        var body = document.querySelector("#composer textarea[name=body]");
        if (!body) return;
        var at = insertAt || [body.value.length, body.value.length];
        body.value = body.value.slice(0, at[0]) + text + body.value.slice(at[1]);
        closeCanned(true);
        var end = at[0] + text.length;
        body.setSelectionRange(end, end);
        body.dispatchEvent(new Event("input", { bubbles: true }));
      })
      .catch(function () { closeCanned(true); });
  }

  document.addEventListener("click", function (event) {
    var use = event.target.closest && event.target.closest("[data-canned-use]");
    if (use) { event.preventDefault(); useCanned(use.getAttribute("data-canned-use")); return; }
    if (event.target.closest && event.target.closest("[data-canned-close]")) { closeCanned(true); return; }
    var opener = event.target.closest && event.target.closest("[data-canned-open]");
    if (opener && insertAt === null) {
      var body = document.querySelector("#composer textarea[name=body]");
      insertAt = body ? [body.selectionStart, body.selectionEnd] : null;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "canned-slot") {
      var search = event.target.querySelector("[data-canned-search]");
      if (search) search.focus();
    }
  });

  // In the picker: Enter takes the first result (and never submits the reply), Esc closes it.
  document.addEventListener("keydown", function (event) {
    var search = event.target.closest && event.target.closest("[data-canned-search]");
    if (search && event.key === "Enter") {
      event.preventDefault();
      var first = document.querySelector("#canned-results [data-canned-use]");
      if (first) useCanned(first.getAttribute("data-canned-use"));
    } else if (event.target.closest && event.target.closest("#canned-picker") && event.key === "Escape") {
      event.preventDefault();
      closeCanned(true);
    } else if (event.key === "/" && event.target.matches && event.target.matches("#composer textarea[name=body]") &&
               event.target.value.trim() === "") {
      // "/" in an empty reply box opens the picker instead of typing a slash.
      event.preventDefault();
      canned();
    }
  }, true);

  var ACTIONS = {
    j: function () { return move(1); },
    k: function () { return move(-1); },
    Enter: openCurrent,
    r: function () { return composer(false); },
    n: function () { return composer(true); },
    a: approve,
    e: editDraft,
    d: discard,
    "/": canned,
    "?": function () { return toggleHelp(); },
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.key === "Escape") {
      var panel = document.getElementById("kb-help");
      if (panel && !panel.hidden) { toggleHelp(false); event.preventDefault(); }
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.closest) {
      var form = event.target.closest(".msg-draft form.draft");
      if (form) { event.preventDefault(); approve(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    // Enter on a link or a button does what it always does.
    if (event.key === "Enter" && event.target.closest && event.target.closest("a, button") &&
        !event.target.closest("#ticket-list [data-row]")) return;
    var action = ACTIONS[event.key];
    if (action && action()) event.preventDefault();
  });

  // A new list (a filter, a page) starts without a selection.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "ticket-list") {
      rows().forEach(function (row) { row.classList.remove("kb-current"); });
    }
  });
})();
