// The incident form: "Use my location" fills longitude and latitude from the phone (WGS-84).
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  var form = document.getElementById("incident-form");
  if (!button || !form || !navigator.geolocation) {
    return;
  }
  button.hidden = false;
  var label = button.textContent;
  function set(name, value) {
    var field = form.elements.namedItem(name);
    if (field) {
      field.value = value;
      // Tell the draft keeper (drafts.js) that the field changed.
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    button.textContent = button.getAttribute("data-locating");
    navigator.geolocation.getCurrentPosition(
      function (position) {
        set("lon", position.coords.longitude.toFixed(6));
        set("lat", position.coords.latitude.toFixed(6));
        set("crs", "wgs84");
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
})();
