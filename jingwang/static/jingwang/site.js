// Small behaviours of every page, kept out of the markup: the Content-Security-Policy refuses
// inline handlers (onchange="…"), so templates mark elements with data attributes instead.
(function () {
  "use strict";
  // <select data-submit-on-change>: choosing an option submits its form (the station picker).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-submit-on-change") && field.form) {
      field.form.submit();
    }
  });

  // <button data-use-location data-crs-field="crs">: fills its form's lon and lat from the
  // phone (WGS-84) and sets the coordinate system field; hidden where the browser cannot.
  // The fields get input/change events so the draft keeper (drafts.js) saves them.
  function set(form, name, value) {
    var field = form.elements.namedItem(name);
    if (field) {
      field.value = value;
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  function ready() {
    var buttons = document.querySelectorAll("button[data-use-location]");
    Array.prototype.forEach.call(buttons, function (button) {
      if (!navigator.geolocation || !button.form) {
        return;
      }
      button.hidden = false;
      var label = button.textContent;
      button.addEventListener("click", function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-locating");
        navigator.geolocation.getCurrentPosition(
          function (position) {
            set(button.form, "lon", position.coords.longitude.toFixed(6));
            set(button.form, "lat", position.coords.latitude.toFixed(6));
            set(button.form, button.getAttribute("data-crs-field") || "crs", "wgs84");
            button.disabled = false;
            button.textContent = label;
          },
          function () {
            button.disabled = false;
            button.textContent = button.getAttribute("data-failed");
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
        );
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
