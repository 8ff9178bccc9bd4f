package api_test

import (
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
)

// ledgerPageCases are the auditor's ledger pages in the matrix. Entries
// record every component's activity: the list, an entry, its receipt and
// the CSV export are for department-wide auditors. Verifying the whole
// ledger shows no entry's content, so any auditor may. A form without
// its token is refused whoever sends it; those not signed in are sent to
// sign in.
func (m *matrix) ledgerPageCases() []matrixCase {
	entryReaders, auditors := m.only("", auth.Auditor), m.anywhere(auth.Auditor)
	outsiders := each(seeLogin, m.outsiders())
	return []matrixCase{
		{name: "ledger page", method: "GET", path: "/ledger?type=ledger", ok: allow, allow: entryReaders, want: outsiders},
		{name: "ledger export", method: "GET", path: "/ledger.csv?type=ledger", ok: allow, allow: entryReaders, want: outsiders},
		{name: "ledger entry page", method: "GET", path: "/ledger/1", ok: allow, allow: entryReaders, want: outsiders},
		{name: "ledger receipt page", method: "GET", path: "/ledger/receipts/1", ok: allow, allow: entryReaders, want: outsiders},
		{name: "ledger verification page", method: "GET", path: "/ledger/verify", ok: allow, allow: auditors, want: outsiders},
		{name: "verify the ledger without the form's token", method: "POST", path: "/ledger/verify", form: true, body: "csrf=forged",
			ok: forbid, allow: m.signedIn(), want: outsiders},
		{name: "an unknown verification's status", method: "GET", path: "/ledger/verify/status?job=0123", ok: http.StatusNotFound, allow: auditors, want: outsiders},
		{name: "open an entry by number", method: "GET", path: "/ledger/verify/entry?index=1", ok: http.StatusSeeOther, allow: auditors, want: outsiders},
	}
}
