package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/probity-dev/probity/internal/auth"
)

// credentialCases are the connector routes in the matrix. Only security
// officers manage credentials — never the administrator — and those of
// one component neither see nor remove another's; endpoints are set by
// whoever manages the source's inventory. Every secret sent is kept, so
// that the matrix's log checks look for it too.
func (m *matrix) credentialCases() []matrixCase {
	fx := m.privacy
	isso := []auth.Role{auth.SecurityOfficer}
	manageRoles := []auth.Role{auth.ComponentPrivacyOfficer, auth.DepartmentPrivacyOfficer, auth.SecurityOfficer}
	next := func() int64 { return m.ts.next() }
	secret := func() string {
		s := fmt.Sprintf("vk_matrix_%d_5f0e2d9c8b7a", next())
		m.tokens = append(m.tokens, s)
		return s
	}
	endpoint := fmt.Sprintf("/api/v1/sources/%d/endpoint", fx.source.ID)
	return []matrixCase{
		{name: "list credentials", method: "GET", path: "/api/v1/credentials", ok: allow, allow: m.anywhere(isso...)},
		{name: "store a credential", method: "PUT", path: "/api/v1/credentials/mx-cred",
			prep: func(*testing.T, *principal) (string, string) {
				return fmt.Sprintf("/api/v1/credentials/mx-cred-%d", next()), fmt.Sprintf(`{"secret":%q}`, secret())
			},
			ok: http.StatusNoContent, allow: m.anywhere(isso...), grows: 1},
		{name: "remove a credential", method: "DELETE", path: "/api/v1/credentials/mx-cred",
			prep: func(t *testing.T, _ *principal) (string, string) {
				name := fmt.Sprintf("mx-del-%d", next())
				if err := m.ts.Credentials.Set(context.Background(), fx.isso, name, secret()); err != nil {
					t.Fatal(err)
				}
				return "/api/v1/credentials/" + name, ""
			},
			ok: http.StatusNoContent, allow: m.within("CBP", isso...), want: each(http.StatusNotFound, m.only("ICE", isso...)), grows: 1},
		{name: "set a source's endpoint", method: "PUT", path: endpoint,
			prep: func(*testing.T, *principal) (string, string) {
				return endpoint, fmt.Sprintf(`{"base_url":"https://api-%d.vendor.example/","timeout_ms":5000}`, next())
			},
			ok: allow, allow: m.within("CBP", manageRoles...), want: each(http.StatusNotFound, m.only("ICE", manageRoles...)), grows: 1},
	}
}
