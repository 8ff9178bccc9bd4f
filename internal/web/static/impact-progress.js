// Probity's impact analysis, followed without reloading the page.
//
// While an analysis runs, its page asks the server for itself every two
// seconds and updates the time it has run; once the analysis is done it
// shows the result page. Without this script the page refreshes itself.
(function () {
	'use strict';

	var job = document.getElementById('impact-job');
	if (!job || job.getAttribute('data-running') !== 'true') {
		return;
	}
	var elapsed = document.getElementById('impact-elapsed');

	function poll() {
		fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
			.then(function (r) {
				if (!r.ok) {
					throw new Error('status ' + r.status);
				}
				return r.text();
			})
			.then(function (html) {
				var doc = new DOMParser().parseFromString(html, 'text/html');
				var next = doc.getElementById('impact-job');
				if (!next || next.getAttribute('data-running') !== 'true') {
					window.location.replace(window.location.href);
					return;
				}
				var t = doc.getElementById('impact-elapsed');
				if (t && elapsed) {
					elapsed.textContent = t.textContent;
				}
				window.setTimeout(poll, 2000);
			})
			.catch(function () {
				// Try again a little later; the "Check now" link still works.
				window.setTimeout(poll, 5000);
			});
	}

	window.setTimeout(poll, 2000);
})();
