// Field drafts (jingwang/core/drafts.py): what was typed into a form[data-keep-draft] stays in
// this browser until the server confirmed the save, so a submit lost to a dropped connection in a
// village loses nothing. Loaded on every page by base.html.
//
// - Only the fields the user changed from what the page showed are kept, per user and form key,
//   with the server time of the page they were typed on ("basis").
// - Personal data never reaches the browser's storage: fields marked data-personal (ID and phone
//   numbers), password, hidden and file fields are skipped.
// - Submitting does not remove a draft. A page carrying
//   <meta name="jingwang-draft-saved" content=KEY data-saved-at=T> (rendered by the server once
//   the save succeeded) removes the draft of KEY typed on a page older than T.
(function () {
  "use strict";
  var PREFIX = "jingwang-draft:v2:";
  var LEGACY = "jingwang-draft:"; // before v2, drafts held ID and phone numbers in clear
  var storage;
  try { storage = window.localStorage; } catch (e) { return; } // storage off: forms still work
  if (!storage) { return; }

  function metas(name) { return document.querySelectorAll('meta[name="' + name + '"]'); }
  function metaContent(name) { var m = metas(name)[0]; return m ? m.getAttribute("content") || "" : ""; }
  function forget(key) { try { storage.removeItem(key); } catch (e) { /* ignore */ } }
  function read(key) {
    try {
      var draft = JSON.parse(storage.getItem(key) || "null");
      return draft && typeof draft === "object" && draft.fields && typeof draft.fields === "object" ? draft : null;
    } catch (e) { return null; }
  }

  // Old drafts may hold personal data: they go, whoever wrote them.
  for (var i = storage.length - 1; i >= 0; i--) {
    var name = storage.key(i);
    if (name && name.indexOf(LEGACY) === 0 && name.indexOf(PREFIX) !== 0) { forget(name); }
  }

  var user = metaContent("jingwang-user");
  if (!user) { return; }
  var clock = Number(metaContent("jingwang-draft-clock")) || 0;
  function keyOf(formKey) { return PREFIX + user + ":" + formKey; }

  // Drafts the server confirmed as saved: those typed before the save go.
  Array.prototype.forEach.call(metas("jingwang-draft-saved"), function (m) {
    var key = keyOf(m.getAttribute("content") || "");
    var savedAt = Number(m.getAttribute("data-saved-at")) || 0;
    var draft = read(key);
    if (storage.getItem(key) !== null && !(draft && Number(draft.basis) > savedAt)) { forget(key); }
  });

  function kept(field) {
    if (!field.name || field.disabled || field.hasAttribute("data-personal")) { return false; }
    var type = (field.type || "").toLowerCase();
    return ["hidden", "password", "file", "submit", "button", "reset", "image"].indexOf(type) < 0 &&
      field.tagName !== "BUTTON" && field.tagName !== "FIELDSET" && field.tagName !== "OUTPUT";
  }

  function changed(field) {
    if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
    if (field.tagName === "SELECT" && field.multiple) {
      return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
    }
    if (field.tagName === "SELECT") {
      // With no option marked selected, the browser shows the first one.
      var shown = Array.prototype.filter.call(field.options, function (o) { return o.defaultSelected; })[0] ||
        field.options[0];
      return field.value !== (shown ? shown.value : "");
    }
    return field.value !== field.defaultValue;
  }

  function valueOf(field) {
    if (field.type === "checkbox" || field.type === "radio") { return field.checked; }
    if (field.tagName === "SELECT" && field.multiple) {
      return Array.prototype.filter.call(field.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    return field.value;
  }

  function restore(field, value) {
    if (field.type === "checkbox" || field.type === "radio") { field.checked = !!value; return; }
    if (field.tagName === "SELECT" && field.multiple) {
      if (Array.isArray(value)) {
        Array.prototype.forEach.call(field.options, function (o) { o.selected = value.indexOf(o.value) >= 0; });
      }
      return;
    }
    if (typeof value === "string") { field.value = value; }
  }

  document.querySelectorAll("form[data-keep-draft]").forEach(function (form) {
    var key = keyOf(form.dataset.keepDraft);
    var fields = Array.prototype.filter.call(form.elements, kept);
    // A radio group shares one name: its entries are keyed by name and value.
    function entry(field) { return field.type === "radio" ? field.name + "=" + field.value : field.name; }
    // A page that answers with errors shows what the server received, so its fields' defaults
    // are no longer what the server had: there the whole form is kept as typed.
    var answeredWithErrors = !!form.querySelector(".error");

    function store() {
      var values = {};
      var any = false;
      fields.forEach(function (f) {
        if (answeredWithErrors || changed(f)) { values[entry(f)] = valueOf(f); any = true; }
      });
      try {
        if (any) {
          storage.setItem(key, JSON.stringify({ basis: clock, fields: values }));
        } else {
          storage.removeItem(key);
        }
      } catch (e) { /* storage full or off: the form still works */ }
    }

    var draft = answeredWithErrors ? null : read(key);
    if (draft) {
      fields.forEach(function (f) { if (entry(f) in draft.fields) { restore(f, draft.fields[entry(f)]); } });
      store(); // keeps exactly what is kept now, typed on this page
    }
    form.addEventListener("input", store);
    form.addEventListener("change", store);
  });
})();
