package web

import (
	"net/http"

	"github.com/probity-dev/probity/internal/auth"
)

// nav is what the header's navigation offers the signed-in person: a link
// shows only to someone whose roles can use the pages it leads to.
type nav struct {
	Reviews, Alerts bool
	// Sources and PIAs, Rules, Policies are the privacy officer's pages.
	Inventory, Rules, Policies bool
	// Cases, Approvals, People and Recert are the case pages, the
	// approvals waiting, and the administrator's pages of people and
	// recertification.
	Cases, Approvals, People, Recert bool
}

// Any reports whether the navigation offers any page.
func (n nav) Any() bool {
	return n.Reviews || n.Alerts || n.Inventory || n.Rules || n.Policies || n.Cases || n.Approvals || n.People || n.Recert
}

func navFor(p auth.Principal) nav {
	return nav{Reviews: p.Can(auth.ReviewsRead), Alerts: p.Can(auth.AlertsRead),
		Inventory: inventoryPages(p), Rules: p.Can(auth.ComplianceRead), Policies: p.Can(auth.PolicyRead),
		Cases: p.Can(auth.DataAccess) || p.Can(auth.CasesRead), Approvals: mayApprove(p), People: p.Can(auth.PeopleRead), Recert: p.Can(auth.RecertRead)}
}

// navWriter carries the navigation of the person a request acts for from
// [Web.adapt], which knows who they are, to [Web.render], which draws the
// header, so that no page has to pass it along.
type navWriter struct {
	http.ResponseWriter
	nav nav
}

// Unwrap lets [http.ResponseController] reach the writer underneath.
func (n *navWriter) Unwrap() http.ResponseWriter { return n.ResponseWriter }
