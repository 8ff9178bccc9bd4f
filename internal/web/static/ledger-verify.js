// Probity's ledger, checked in the browser.
//
// On an entry's page, this recomputes the RFC 6962 Merkle root from the
// entry shown (its canonical JSON) and the proof hashes shown, with the
// browser's own SHA-256 (WebCrypto), and compares it with the root in the
// signed checkpoint shown. Where the browser's WebCrypto has Ed25519, it
// also checks the checkpoint's signature with the keys shown. On the
// verification page, it checks a pasted receipt the same way, and follows
// a running verification's progress without reloading the page.
//
// The pages work without it: a receipt can be checked offline with
// `probity ledger verify -receipt`, and a running verification's page
// refreshes itself.
(function () {
	'use strict';

	var enc = new TextEncoder();

	function fromBase64(s) {
		var bin = atob(s.trim());
		var out = new Uint8Array(bin.length);
		for (var i = 0; i < bin.length; i++) {
			out[i] = bin.charCodeAt(i);
		}
		return out;
	}

	function toBase64(u8) {
		var s = '';
		for (var i = 0; i < u8.length; i++) {
			s += String.fromCharCode(u8[i]);
		}
		return btoa(s);
	}

	function toHex(u8) {
		return Array.prototype.map.call(u8, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
	}

	function equal(a, b) {
		if (a.length !== b.length) {
			return false;
		}
		for (var i = 0; i < a.length; i++) {
			if (a[i] !== b[i]) {
				return false;
			}
		}
		return true;
	}

	// sha256 hashes the concatenation of its arguments.
	async function sha256() {
		var n = 0, i;
		for (i = 0; i < arguments.length; i++) {
			n += arguments[i].length;
		}
		var buf = new Uint8Array(n), off = 0;
		for (i = 0; i < arguments.length; i++) {
			buf.set(arguments[i], off);
			off += arguments[i].length;
		}
		return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
	}

	// RFC 6962: a leaf's hash is SHA-256(0x00 || entry), an interior
	// node's SHA-256(0x01 || left || right).
	function leafHash(entry) { return sha256(Uint8Array.of(0), entry); }
	function nodeHash(l, r) { return sha256(Uint8Array.of(1), l, r); }

	// rootFromProof computes the root of a tree of size entries from the
	// leaf hash of entry index and its inclusion proof (RFC 9162, 2.1.3.2).
	async function rootFromProof(index, size, leaf, proof) {
		var fn = BigInt(index), sn = BigInt(size) - 1n, r = leaf;
		if (fn > sn) {
			throw new Error('entry ' + index + ' is outside a tree of ' + size + ' entries');
		}
		for (var i = 0; i < proof.length; i++) {
			var p = proof[i];
			if (sn === 0n) {
				throw new Error('the proof has more hashes than a tree of this size needs');
			}
			if ((fn & 1n) === 1n || fn === sn) {
				r = await nodeHash(p, r);
				while ((fn & 1n) === 0n && fn !== 0n) {
					fn >>= 1n;
					sn >>= 1n;
				}
			} else {
				r = await nodeHash(r, p);
			}
			fn >>= 1n;
			sn >>= 1n;
		}
		if (sn !== 0n) {
			throw new Error('the proof has fewer hashes than a tree of this size needs');
		}
		return r;
	}

	// parseNote splits a signed note (C2SP signed-note) into its text and
	// signatures, and reads the checkpoint in the text.
	function parseNote(note) {
		var cut = note.lastIndexOf('\n\n');
		if (cut < 0) {
			throw new Error('the checkpoint is not a signed note');
		}
		var text = note.slice(0, cut + 1);
		var lines = text.split('\n');
		if (lines.length < 4 || !/^[0-9]+$/.test(lines[1])) {
			throw new Error('the checkpoint does not name a tree size');
		}
		var sigs = note.slice(cut + 2).split('\n').filter(function (l) { return l !== ''; }).map(function (l) {
			var m = /^\u2014 (\S+) (\S+)$/.exec(l);
			if (!m) {
				throw new Error('a signature line of the checkpoint is malformed');
			}
			return { name: m[1], blob: fromBase64(m[2]) };
		});
		return { text: text, origin: lines[0], size: lines[1], root: fromBase64(lines[2]), sigs: sigs };
	}

	// checkSignature checks the note's signature by a key named after the
	// log's origin, with the verifier keys given ("name+hash+base64").
	// It resolves to a sentence saying what was checked.
	async function checkSignature(cp, keys) {
		var candidates = [];
		keys.forEach(function (k) {
			// name+hash+key: names have no '+'; base64 keys may.
			var m = /^([^+]+)\+([0-9a-f]{8})\+(.+)$/.exec(k.trim());
			if (!m || m[1] !== cp.origin) {
				return;
			}
			var parts = m.slice(1);
			var raw = fromBase64(parts[2]);
			if (raw.length !== 33 || raw[0] !== 1) {
				return;
			}
			cp.sigs.forEach(function (s) {
				if (s.name === parts[0] && s.blob.length === 68 && toHex(s.blob.slice(0, 4)) === parts[1]) {
					candidates.push({ key: raw.slice(1), sig: s.blob.slice(4), name: parts[0] + '+' + parts[1] });
				}
			});
		});
		if (candidates.length === 0) {
			return { ok: false, text: 'the checkpoint has no signature by any key listed' };
		}
		for (var i = 0; i < candidates.length; i++) {
			var c = candidates[i], key;
			try {
				key = await crypto.subtle.importKey('raw', c.key, { name: 'Ed25519' }, false, ['verify']);
			} catch (e) {
				return { ok: true, skipped: true, text: 'the checkpoint\u2019s signature was not checked: this browser\u2019s WebCrypto has no Ed25519 (the server checks it; so does probity ledger verify)' };
			}
			if (await crypto.subtle.verify({ name: 'Ed25519' }, key, c.sig, enc.encode(cp.text))) {
				return { ok: true, text: 'the checkpoint\u2019s signature by ' + c.name + ' verifies' };
			}
		}
		return { ok: false, text: 'the checkpoint\u2019s signature does NOT verify' };
	}

	// verify checks that entry (bytes) is number index in the tree the
	// signed checkpoint note commits to, with the proof (base64 hashes).
	async function verify(index, entry, note, proof, keys) {
		if (!window.crypto || !crypto.subtle) {
			throw new Error('this browser offers no WebCrypto here (it needs an HTTPS connection)');
		}
		var cp = parseNote(note);
		var leaf = await leafHash(entry);
		var root = await rootFromProof(index, cp.size, leaf, proof.map(fromBase64));
		if (!equal(root, cp.root)) {
			return { state: 'mismatch', text: 'mismatch: the entry and the proof give the root ' + toBase64(root) + ', not the checkpoint\u2019s ' + toBase64(cp.root) + '.' };
		}
		var sig = await checkSignature(cp, keys);
		if (!sig.ok) {
			return { state: 'mismatch', text: 'mismatch: the proof leads to the checkpoint\u2019s root, but ' + sig.text + '.' };
		}
		return { state: 'verified', text: 'verified: entry ' + index + ' is in the tree of ' + cp.size + ' entries of ' + cp.origin + ' (root ' + toBase64(cp.root) + '); ' + sig.text + '.' };
	}

	function show(out, res) {
		out.dataset.state = res.state;
		out.textContent = res.text;
	}

	function texts(sel) {
		return Array.prototype.map.call(document.querySelectorAll(sel), function (e) { return e.textContent; });
	}

	function run(out, job) {
		show(out, { state: 'working', text: 'Checking\u2026' });
		job().then(function (res) { show(out, res); }, function (e) {
			show(out, { state: 'error', text: 'could not check: ' + e.message });
		});
	}

	// An entry's page.
	var button = document.getElementById('verify-inclusion');
	if (button) {
		button.hidden = false;
		button.addEventListener('click', function () {
			var section = document.getElementById('browser-check');
			run(document.getElementById('verify-result'), function () {
				return verify(Number(section.dataset.index), enc.encode(document.getElementById('entry-json').textContent),
					document.getElementById('checkpoint-note').textContent, texts('#proof li code'), texts('#verifier-keys code'));
			});
		});
	}

	// A pasted receipt, checked with the keys the page lists.
	var receipt = document.getElementById('receipt-check');
	if (receipt) {
		receipt.hidden = false;
		document.getElementById('verify-receipt').addEventListener('click', function () {
			run(document.getElementById('receipt-result'), async function () {
				var r;
				try {
					r = JSON.parse(document.getElementById('receipt').value);
				} catch (e) {
					throw new Error('this is not JSON: paste the whole receipt file');
				}
				if (typeof r !== 'object' || r === null || typeof r.index !== 'number' || typeof r.entry !== 'string' || typeof r.checkpoint !== 'string' || !Array.isArray(r.proof)) {
					throw new Error('this is not a ledger receipt: it needs index, entry, checkpoint and proof');
				}
				var entry = fromBase64(r.entry);
				var decoded;
				try {
					decoded = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(entry));
				} catch (e) {
					throw new Error('the receipt\u2019s entry is not a ledger entry');
				}
				if (typeof decoded !== 'object' || decoded === null || decoded.seq !== r.index) {
					return { state: 'mismatch', text: 'mismatch: the receipt\u2019s entry is not number ' + r.index + '.' };
				}
				return verify(r.index, entry, r.checkpoint, r.proof, texts('#verifier-keys code'));
			});
		});
	}

	// A running verification: follow its progress, then show its outcome.
	var job = document.getElementById('verify-job');
	if (job && job.dataset.running === 'true') {
		var bar = document.getElementById('verify-progress');
		var label = document.getElementById('verify-progress-text');
		var poll = function () {
			fetch('/ledger/verify/status?job=' + encodeURIComponent(job.dataset.job), { headers: { Accept: 'application/json' } }).then(function (resp) {
				if (!resp.ok) {
					throw new Error(resp.statusText);
				}
				return resp.json();
			}).then(function (s) {
				if (!s.running) {
					window.location.reload();
					return;
				}
				bar.max = s.total;
				bar.value = s.read;
				bar.textContent = s.percent + '%';
				label.textContent = 'Read ' + s.read + ' of ' + s.total + ' entries (' + s.percent + '%).';
				setTimeout(poll, 1000);
			}).catch(function () {
				window.location.reload();
			});
		};
		setTimeout(poll, 500);
	}
})();
