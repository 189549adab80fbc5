// The dispute form: "Add a party" shows the next spare party row (on the page from the start,
// so the draft keeps it), then copies the blank row. Without this script the form still works
// with its first rows. ("Use my location" is site.js's, for every form.)
(function () {
  "use strict";
  var form = document.getElementById("dispute-form");
  if (!form) {
    return;
  }

  function changed(field) {
    // Tell the draft keeper (drafts.js) that the field changed.
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Party rows: parties-<n>-<field>, counted by parties-count.
  var add = document.getElementById("add-party");
  var rows = document.getElementById("party-rows");
  var count = document.getElementById("parties-count");
  var template = document.getElementById("party-template");
  function typedIn(row) {
    return Array.prototype.some.call(row.querySelectorAll("input, textarea"), function (field) {
      return field.type !== "hidden" && field.value !== "";
    });
  }
  if (add && rows && count && template && template.content) {
    // Spare rows the draft filled in (drafts.js ran first) are shown again.
    rows.querySelectorAll("[data-party-row][hidden]").forEach(function (row) {
      if (typedIn(row)) {
        row.hidden = false;
      }
    });
    add.hidden = false;
    add.addEventListener("click", function () {
      var spare = rows.querySelector("[data-party-row][hidden]");
      if (spare) {
        spare.hidden = false;
        var field = spare.querySelector("input[type=text], input:not([type])");
        if (field) {
          field.focus();
        }
        return;
      }
      var n = Number(count.value) || rows.querySelectorAll("[data-party-row]").length;
      var row = template.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("[name], [id], [for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) {
            el.setAttribute(attr, value.split("__n__").join(String(n)));
          }
        });
      });
      var number = row.querySelector("[data-party-number]");
      if (number) {
        number.textContent = String(n + 1);
      }
      rows.appendChild(row);
      count.value = String(n + 1);
      var first = row.querySelector("input[type=text], input:not([type])");
      if (first) {
        first.focus();
      }
    });
  }
})();
