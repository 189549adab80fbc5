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
})();
