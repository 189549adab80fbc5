// Draws grids on Leaflet maps. Each element with class "map" names its data (json_script) in
// data-source (default "map-data"); maps sharing data-sync move together. No tiles unless the
// operator configured an intranet tile server.
// A map with data-config (the territory map) loads instead: the station outline from its config,
// then the level's grids and the checked point layers for the visible area, again after each
// move (jingwang/territory/maps.py).
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
    if (p.url) { html += '<br><a class="map-open" href="' + escape(p.url) + '">' + escape(text.popupOpen) + "</a>"; }
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

  // ---- The territory map: shapes and points by visible area. ----

  function snapped(map) {
    // The view with a margin, snapped outward to a tile of the zoom, so that small moves ask
    // for the same area again (answered from the browser's cache for shapes).
    var b = map.getBounds().pad(0.25);
    var step = 360 / Math.pow(2, Math.max(0, Math.floor(map.getZoom())));
    var w = Math.max(-180, Math.floor(b.getWest() / step) * step);
    var s = Math.max(-90, Math.floor(b.getSouth() / step) * step);
    var e = Math.min(180, Math.ceil(b.getEast() / step) * step);
    var n = Math.min(90, Math.ceil(b.getNorth() / step) * step);
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function live(holder) {
    var cfg = JSON.parse(document.getElementById(holder.dataset.config).textContent);
    var text = holder.dataset;
    var map = L.map(holder, { zoomSnap: 0.25 });
    var dots = L.canvas({ padding: 0.2 });  // many points: one canvas, not one element each
    if (cfg.tiles) { L.tileLayer(cfg.tiles, { maxZoom: 19 }).addTo(map); }
    if (cfg.outline) {
      L.geoJSON(cfg.outline, { style: { color: "#555", weight: 2, fill: false }, interactive: false }).addTo(map);
    }
    var b = cfg.bounds;
    if (b) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [10, 10] }); } else { map.setView([31.1, 105.1], 11); }
    var communities = L.geoJSON(null, { style: { color: "#555", weight: 2, fill: false, dashArray: "4 4" }, interactive: false }).addTo(map);
    var clickedGrid = false;
    var grids = L.geoJSON(null, {
      style: function (f) {
        var c = palette[f.properties.level] || "#1f78b4";
        return { color: c, weight: 1.5, fillColor: c, fillOpacity: 0.18 };
      },
      onEachFeature: function (feature, lyr) {
        lyr.bindTooltip(escape(feature.properties.code + " " + (feature.properties.name || "")), { sticky: true });
        lyr.on("click", function (e) {
          clickedGrid = true;
          L.popup().setLatLng(e.latlng).setContent(popup(feature.properties, text) + createLinks(e.latlng)).openOn(map);
        });
        lyr.on("dblclick", function () { if (feature.properties.url) { window.location = feature.properties.url; } });
      }
    }).addTo(map);
    var layers = {};
    (cfg.layers || []).forEach(function (layer) {
      layers[layer.name] = { config: layer, group: L.layerGroup(), on: false, last: "" };
    });
    var status = document.getElementById("map-layer-status");
    var controllers = {};
    var lastShapes = "";

    function createLinks(latlng) {
      var html = "";
      (cfg.layers || []).forEach(function (layer) {
        if (!layer.create_url) { return; }
        var href = layer.create_url + "?lon=" + latlng.lng.toFixed(6) + "&lat=" + latlng.lat.toFixed(6);
        html += '<br><a class="map-create" data-layer="' + escape(layer.name) + '" href="' + escape(href) + '">' + escape(layer.create_label) + "</a>";
      });
      return html;
    }

    function get(key, url, done) {
      if (controllers[key]) { controllers[key].abort(); }
      var controller = window.AbortController ? new AbortController() : null;
      controllers[key] = controller;
      fetch(url, { credentials: "same-origin", signal: controller ? controller.signal : undefined })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) { controllers[key] = null; done(data); })
        .catch(function (error) {
          if (error && error.name === "AbortError") { return; }
          if (status) { status.textContent = text.textFailed; }
        });
    }

    function pageFilters() {
      // The page's own filters (?incidents=open) go to the layers, which read what they know.
      var params = new URLSearchParams(window.location.search), kept = "";
      params.forEach(function (value, key) {
        if (["station", "level", "bbox", "v"].indexOf(key) < 0) { kept += "&" + encodeURIComponent(key) + "=" + encodeURIComponent(value); }
      });
      return kept;
    }

    function query(bbox) {
      return "station=" + encodeURIComponent(cfg.station) + "&bbox=" + bbox;
    }

    function loadShapes(bbox) {
      var key = bbox + "/" + Math.floor(map.getZoom());
      if (key === lastShapes) { return; }
      lastShapes = key;
      var url = cfg.shapes_url + "?" + query(bbox) + "&level=" + encodeURIComponent(cfg.level) +
        "&zoom=" + Math.floor(map.getZoom()) + "&v=" + encodeURIComponent(cfg.stamp);
      get("shapes", url, function (data) {
        grids.clearLayers(); grids.addData(data.grids);
        communities.clearLayers(); communities.addData(data.communities);
        holder.dataset.ready = "1";
        holder.dataset.grids = String(data.grids.features.length);
      });
    }

    function pointPopup(p) {
      var html = "<strong>" + escape(p.label || "") + "</strong>";
      if (p.kind) { html += "<br>" + escape(p.kind); }
      if (p.url) { html += '<br><a href="' + escape(p.url) + '">' + escape(text.popupOpen) + "</a>"; }
      return html;
    }

    function drawPoints(entry, data) {
      var color = entry.config.color || "#d62728";
      entry.group.clearLayers();
      data.features.forEach(function (f) {
        var c = f.geometry.coordinates, p = f.properties, at = [c[1], c[0]];
        if (data.mode === "bins") {
          var icon = L.divIcon({ className: "map-bin", html: "<span>" + escape(p.count) + "</span>", iconSize: [34, 20] });
          L.marker(at, { icon: icon, keyboard: false })
            .bindTooltip(escape(p.code + " " + (p.name || "")) + ": " + escape(p.count) + " " + escape(text.textCount))
            .addTo(entry.group);
        } else {
          L.circleMarker(at, { renderer: dots, radius: 6, color: "#fff", weight: 1.5, fillColor: color, fillOpacity: 0.9 })
            .bindPopup(pointPopup(p)).addTo(entry.group);
        }
      });
      holder.dataset["points" + entry.config.name] = data.mode + ":" + data.features.length;
      if (status) {
        status.textContent = entry.config.label + ": " + data.total + " · " + (data.mode === "bins" ? text.textBins : text.textPoints);
      }
    }

    function loadPoints(entry, bbox, force) {
      if (!entry.on) { return; }
      if (!force && bbox === entry.last) { return; }
      entry.last = bbox;
      get("points:" + entry.config.name, entry.config.url + "?" + query(bbox) + pageFilters(), function (data) { drawPoints(entry, data); });
    }

    var timer = null;
    function refresh() {
      var bbox = snapped(map);
      loadShapes(bbox);
      Object.keys(layers).forEach(function (name) { loadPoints(layers[name], bbox, false); });
    }
    map.on("moveend", function () { clearTimeout(timer); timer = setTimeout(refresh, 120); });
    map.on("click", function (e) {
      if (clickedGrid) { clickedGrid = false; return; }
      var links = createLinks(e.latlng);
      if (links) { L.popup().setLatLng(e.latlng).setContent(links.slice(4)).openOn(map); }
    });
    document.querySelectorAll("[data-map-layer]").forEach(function (box) {
      var entry = layers[box.dataset.mapLayer];
      if (!entry) { return; }
      box.addEventListener("change", function () {
        entry.on = box.checked;
        if (entry.on) { entry.group.addTo(map); loadPoints(entry, snapped(map), true); }
        else { map.removeLayer(entry.group); entry.group.clearLayers(); entry.last = ""; if (status) { status.textContent = ""; } }
      });
      if (box.checked) { entry.on = true; entry.group.addTo(map); }
    });
    refresh();
    return map;
  }

  var groups = {};
  document.querySelectorAll(".map").forEach(function (holder) {
    var map = holder.dataset.config ? live(holder) : draw(holder);
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
