// Drawing a search area on the new-query page's map.
//
// The map is an SVG drawn by the server in Web Mercator; its data-lat,
// data-lon and data-zoom attributes say what it shows, so a click can be
// turned back into a position. A circle is two clicks (centre, then a
// point on the edge); a polygon is a click per corner, then "Finish".
// Drawing fills in the form's circle fields or GeoJSON field, which stay
// the way to give the area without a pointer. The map's move and zoom
// links fetch the new map instead of reloading the page, so that what is
// typed in the form stays. Without this script the page works the same,
// but for drawing.
(function () {
	"use strict";

	var box = document.querySelector("[data-map-draw]");
	if (!box || !window.fetch || !window.DOMParser) {
		return;
	}
	var SVGNS = "http://www.w3.org/2000/svg";
	var MAXLAT = 85.05112878;
	var RADIUS = 6371008.8; // metres, as the server measures
	var field = function (id) { return document.getElementById(id); };

	// The state of a drawing: its kind and its positions ({lat, lon}).
	var mode = null;
	var shape = null; // {kind: "circle"|"polygon", points: [...]}

	var status = document.createElement("p");
	status.className = "map-status";
	status.setAttribute("role", "status");
	status.setAttribute("aria-live", "polite");

	var tools = document.createElement("div");
	tools.className = "map-tools";
	function button(text, handler) {
		var b = document.createElement("button");
		b.type = "button";
		b.className = "secondary";
		b.textContent = text;
		b.addEventListener("click", handler);
		tools.appendChild(b);
		return b;
	}
	var circleButton = button("Draw a circle", function () { start("circle"); });
	var polygonButton = button("Draw a polygon", function () { start("polygon"); });
	var finishButton = button("Finish the polygon", finishPolygon);
	var clearButton = button("Clear the drawing", clear);
	finishButton.hidden = true;
	box.appendChild(tools);
	box.appendChild(status);

	function svg() { return box.querySelector("svg.map"); }

	function say(text) { status.textContent = text; }

	// view returns what the map shows: its centre's world pixel, its
	// size, and the world's width at its zoom.
	function view() {
		var s = svg();
		var zoom = parseFloat(s.getAttribute("data-zoom"));
		var lat = parseFloat(s.getAttribute("data-lat"));
		var lon = parseFloat(s.getAttribute("data-lon"));
		var vb = s.viewBox.baseVal;
		var world = 256 * Math.pow(2, zoom);
		var c = mercator(lat, lon);
		return { x0: c.x * world - vb.width / 2, y0: c.y * world - vb.height / 2, world: world };
	}

	function mercator(lat, lon) {
		var s = Math.sin(Math.max(-MAXLAT, Math.min(MAXLAT, lat)) * Math.PI / 180);
		return { x: (lon + 180) / 360, y: 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI) };
	}

	function project(p) {
		var v = view();
		var m = mercator(p.lat, p.lon);
		return { x: m.x * v.world - v.x0, y: m.y * v.world - v.y0 };
	}

	function unproject(x, y) {
		var v = view();
		var wx = (x + v.x0) / v.world;
		var wy = (y + v.y0) / v.world;
		return { lon: wx * 360 - 180, lat: Math.atan(Math.sinh(Math.PI * (1 - 2 * wy))) * 180 / Math.PI };
	}

	// distance returns the great-circle distance in metres.
	function distance(a, b) {
		var r = Math.PI / 180;
		var dLat = (b.lat - a.lat) * r;
		var dLon = (b.lon - a.lon) * r;
		var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
			Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
		return 2 * RADIUS * Math.asin(Math.min(1, Math.sqrt(h)));
	}

	function fixed(x, n) { return parseFloat(x.toFixed(n)); }

	function start(kind) {
		mode = kind;
		shape = { kind: kind, points: [] };
		finishButton.hidden = kind !== "polygon";
		var area = svg().querySelector(".map-area");
		if (area) {
			area.remove(); // the area typed before: replaced by the drawing
		}
		redraw();
		say(kind === "circle" ? "Click the centre of the circle on the map." : "Click each corner of the polygon on the map, then choose Finish the polygon.");
	}

	function clear() {
		mode = null;
		shape = null;
		finishButton.hidden = true;
		redraw();
		say("The drawing is cleared. The fields keep what they hold.");
	}

	function onClick(event) {
		var s = event.target.closest("svg.map");
		if (!mode || !s) {
			return;
		}
		var pt = s.createSVGPoint();
		pt.x = event.clientX;
		pt.y = event.clientY;
		var local = pt.matrixTransform(s.getScreenCTM().inverse());
		var p = unproject(local.x, local.y);
		if (mode === "circle") {
			shape.points.push(p);
			if (shape.points.length === 1) {
				say("Centre set at " + fixed(p.lat, 5) + ", " + fixed(p.lon, 5) + ". Click a point on the circle's edge.");
			} else {
				var radius = Math.max(1, Math.round(distance(shape.points[0], p)));
				shape.radius = radius;
				field("shape-circle").checked = true;
				field("lat").value = fixed(shape.points[0].lat, 6);
				field("lon").value = fixed(shape.points[0].lon, 6);
				field("radius").value = radius;
				mode = null;
				say("Circle of " + radius + " m around " + field("lat").value + ", " + field("lon").value + ": the circle's fields are filled in.");
			}
		} else {
			shape.points.push(p);
			say("Corner " + shape.points.length + " at " + fixed(p.lat, 5) + ", " + fixed(p.lon, 5) + "." +
				(shape.points.length >= 3 ? " Click another corner, or choose Finish the polygon." : ""));
		}
		redraw();
	}

	function finishPolygon() {
		if (!shape || shape.kind !== "polygon" || shape.points.length < 3) {
			say("A polygon needs at least three corners: click them on the map first.");
			return;
		}
		var ring = shape.points.map(function (p) { return [fixed(p.lon, 6), fixed(p.lat, 6)]; });
		ring.push(ring[0]);
		field("shape-polygon").checked = true;
		field("polygon").value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
		mode = null;
		shape.closed = true;
		finishButton.hidden = true;
		redraw();
		say("Polygon of " + shape.points.length + " corners: the GeoJSON field is filled in.");
	}

	// redraw draws the drawing over the current map.
	function redraw() {
		var s = svg();
		var old = s.querySelector(".map-drawing");
		if (old) {
			old.remove();
		}
		if (!shape || shape.points.length === 0) {
			return;
		}
		var g = document.createElementNS(SVGNS, "g");
		g.setAttribute("class", "map-drawing");
		var pts = shape.points.map(project);
		if (shape.kind === "circle" && shape.radius) {
			var c = document.createElementNS(SVGNS, "circle");
			var scale = view().world / (2 * Math.PI * RADIUS * Math.cos(shape.points[0].lat * Math.PI / 180));
			c.setAttribute("cx", pts[0].x);
			c.setAttribute("cy", pts[0].y);
			c.setAttribute("r", Math.max(1, shape.radius * scale));
			g.appendChild(c);
		} else if (shape.kind === "polygon" && pts.length > 1) {
			var line = document.createElementNS(SVGNS, shape.closed ? "polygon" : "polyline");
			line.setAttribute("points", pts.map(function (p) { return p.x + "," + p.y; }).join(" "));
			g.appendChild(line);
		}
		// A circle marks its centre; a polygon each corner.
		(shape.kind === "circle" ? pts.slice(0, 1) : pts).forEach(function (p) {
			var v = document.createElementNS(SVGNS, "circle");
			v.setAttribute("class", "map-vertex");
			v.setAttribute("cx", p.x);
			v.setAttribute("cy", p.y);
			v.setAttribute("r", 4);
			g.appendChild(v);
		});
		s.appendChild(g);
	}

	// Moving the map: fetch the page of the new view and take its map,
	// keeping the form as it is.
	box.addEventListener("click", function (event) {
		var a = event.target.closest("a[data-map-nav]");
		if (!a) {
			onClick(event);
			return;
		}
		event.preventDefault();
		fetch(a.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
			.then(function (r) {
				if (!r.ok) {
					throw new Error("status " + r.status);
				}
				return r.text();
			})
			.then(function (html) {
				var doc = new DOMParser().parseFromString(html, "text/html");
				var next = doc.querySelector("[data-map-draw] svg.map");
				var nav = doc.querySelector("[data-map-draw] .map-nav");
				if (!next || !nav) {
					throw new Error("no map");
				}
				var area = svg().querySelector(".map-area");
				var nextArea = next.querySelector(".map-area");
				if (!area && nextArea) {
					nextArea.remove(); // the typed area was replaced by a drawing
				}
				svg().replaceWith(document.importNode(next, true));
				box.querySelector(".map-nav").replaceWith(document.importNode(nav, true));
				redraw();
				say("The map moved.");
			})
			.catch(function () {
				window.location.href = a.href;
			});
	});
	circleButton.setAttribute("aria-describedby", "map-hint");
	polygonButton.setAttribute("aria-describedby", "map-hint");
	clearButton.setAttribute("aria-describedby", "map-hint");
}());
