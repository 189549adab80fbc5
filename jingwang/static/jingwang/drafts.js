// Keeps what was typed into a form in this browser until it is saved, so a dropped connection
// in a village does not lose the work. Restored on the next visit; cleared on a successful save.
(function () {
  "use strict";
  document.querySelectorAll("form[data-keep-draft]").forEach(function (form) {
    var key = "jingwang-draft:" + form.dataset.keepDraft;
    var fields = form.querySelectorAll("input:not([type=hidden]):not([type=password]), select, textarea");
    var hasErrors = form.querySelector(".error");
    try {
      var saved = JSON.parse(window.localStorage.getItem(key) || "null");
      if (saved && !hasErrors) {
        fields.forEach(function (f) {
          if (!(f.name in saved)) { return; }
          if (f.type === "checkbox") { f.checked = saved[f.name]; } else { f.value = saved[f.name]; }
        });
      }
    } catch (e) { /* storage may be unavailable: the form still works */ }
    form.addEventListener("input", function () {
      var draft = {};
      fields.forEach(function (f) { draft[f.name] = f.type === "checkbox" ? f.checked : f.value; });
      try { window.localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* ignore */ }
    });
    form.addEventListener("submit", function () {
      try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
    });
  });
})();
