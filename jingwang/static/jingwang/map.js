// Draws grids on Leaflet maps. Each element with class "map" names its data (json_script) in
// data-source (default "map-data"); maps sharing data-sync move together. No tiles unless the
// operator configured an intranet tile server.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  var palette = { district: "#6a3d9a", sector: "#1f78b4", block: "#33a02c", cluster: "#ff7f00" };

  function escape(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function popup(p, text) {
    var html = "<strong>" + escape(p.code) + " " + escape(p.name || "") + "</strong><br>" + escape(p.level_label || "");
    if (p.households !== undefined) {
      html += "<br>" + escape(p.households) + " " + escape(text.popupHouseholds) +
        " · " + escape(p.population) + " " + escape(text.popupPopulation);
      if (p.complexity !== undefined) { html += " · " + escape(text.popupComplexity) + " " + escape(p.complexity); }
    }
    if (p.missing) { html += "<br>" + escape(text.popupMissing) + ": " + escape(p.missing.join(", ")); }
    if (p.url) { html += '<br><a href="' + escape(p.url) + '">' + escape(text.popupOpen) + "</a>"; }
    return html;
  }

  function draw(holder) {
    var source = document.getElementById(holder.dataset.source || "map-data");
    if (!source) { return null; }
    var data = JSON.parse(source.textContent);
    var text = holder.dataset;
    var map = L.map(holder, { zoomSnap: 0.25 });
    if (data.tiles) { L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map); }
    var bounds = null;
    function add(collection, style, interactive) {
      if (!collection || !collection.features.length) { return; }
      var layer = L.geoJSON(collection, {
        style: style,
        interactive: interactive,
        onEachFeature: function (feature, lyr) {
          if (!interactive) { return; }
          lyr.bindTooltip(escape(feature.properties.code + " " + (feature.properties.name || "")), { sticky: true });
          lyr.bindPopup(popup(feature.properties, text));
          lyr.on("dblclick", function () { if (feature.properties.url) { window.location = feature.properties.url; } });
        }
      }).addTo(map);
      bounds = bounds ? bounds.extend(layer.getBounds()) : layer.getBounds();
    }
    add(data.context, { color: "#8a94a6", weight: 0.6, fillOpacity: 0.04 }, false);
    add(data.communities, { color: "#555", weight: 2, fill: false, dashArray: "4 4" }, false);
    add(data.grids, function (f) {
      var p = f.properties;
      var c = p.missing || p.flagged ? "#d62728" : (p.color || palette[p.level] || "#1f78b4");
      return { color: c, weight: 1.5, fillColor: c, fillOpacity: 0.18 };
    }, true);
    add(data.children, function (f) {
      return { color: palette[f.properties.level] || "#33a02c", weight: 1, fillOpacity: 0.08 };
    }, true);
    if (bounds) { map.fitBounds(bounds, { padding: [10, 10] }); } else { map.setView([31.1, 105.1], 11); }
    holder.dataset.ready = "1";
    return map;
  }

  var groups = {};
  document.querySelectorAll(".map").forEach(function (holder) {
    var map = draw(holder);
    if (!map || !holder.dataset.sync) { return; }
    var group = groups[holder.dataset.sync] = groups[holder.dataset.sync] || [];
    group.forEach(function (other) {
      var busy = false;
      function follow(from, to) {
        from.on("moveend", function () {
          if (busy) { return; }
          busy = true; to.setView(from.getCenter(), from.getZoom(), { animate: false }); busy = false;
        });
      }
      follow(map, other); follow(other, map);
    });
    group.push(map);
  });
})();
