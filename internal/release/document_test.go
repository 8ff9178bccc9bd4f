package release_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/release"
)

// dataFlow returns a valid data-flow manifest of validRelease of validApp,
// changed by change (applied to its decoded form).
func dataFlow(t testing.TB, change func(m map[string]any)) []byte {
	t.Helper()
	m := map[string]any{
		"schema": release.DataFlowSchema,
		"app":    map[string]any{"bundle_id": "gov.dhs.cbp.mpc", "version": "3.2.1", "build": "451", "sha256": digestA},
		"permissions": []any{
			map[string]any{"name": "NSCameraUsageDescription", "purpose": "photograph the traveler's passport"},
		},
		"data_flows": []any{
			map[string]any{"data": "passport photo", "destination": "api.cbp.dhs.gov", "purpose": "identity verification",
				"encrypted_in_transit": true, "retention": "deleted from the device after submission"},
		},
	}
	if change != nil {
		change(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func traceability(t testing.TB, change func(m map[string]any)) []byte {
	t.Helper()
	m := map[string]any{
		"schema": release.TraceabilitySchema,
		"app":    map[string]any{"bundle_id": "gov.dhs.cbp.mpc", "version": "3.2.1", "sha256": strings.ToUpper(digestA)},
		"answers": []any{
			map[string]any{"requirement": "AC-2", "status": "met", "evidence": "Accounts are provisioned through the agency directory."},
			map[string]any{"requirement": "SC-8", "status": "partially_met", "evidence": "TLS 1.3 everywhere but the legacy photo upload.", "notes": "fixed in 3.3"},
		},
	}
	if change != nil {
		change(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sub(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func item(m map[string]any, key string, i int) map[string]any {
	return m[key].([]any)[i].(map[string]any)
}

func TestParseDocument(t *testing.T) {
	a, r := validApp(), validRelease()
	for _, c := range []struct {
		name  string
		kind  release.DeliverableKind
		doc   []byte
		items int
		want  []string // invalid fields
		says  string
	}{
		{"OKDataFlow", release.DataFlowManifest, dataFlow(t, nil), 2, nil, ""},
		{"OKDataFlowNoPermissions", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { m["permissions"] = []any{} }), 1, nil, ""},
		{"OKTraceability", release.Traceability, traceability(t, nil), 2, nil, ""},
		{"ErrOtherDigest", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { sub(m, "app")["sha256"] = digestB }), 0,
			[]string{"app.sha256"}, "names artifact 60303ae22b99…, but the release's artifact is 9f86d081884c…"},
		{"ErrOtherVersion", release.Traceability, traceability(t, func(m map[string]any) { sub(m, "app")["version"] = "3.2.0" }), 0,
			[]string{"app.version"}, `names version "3.2.0", but the release is version 3.2.1`},
		{"ErrOtherBuild", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { sub(m, "app")["build"] = "450" }), 0, []string{"app.build"}, ""},
		{"ErrOtherApp", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { sub(m, "app")["bundle_id"] = "gov.dhs.other" }), 0, []string{"app.bundle_id"}, ""},
		{"ErrNoSubject", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { delete(m, "app") }), 0,
			[]string{"app.bundle_id", "app.version", "app.sha256"}, ""},
		{"ErrBadDigest", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { sub(m, "app")["sha256"] = "abc" }), 0, []string{"app.sha256"}, "not a SHA-256"},
		{"ErrSchema", release.DataFlowManifest, traceability(t, nil), 0, []string{"document"}, `unknown field "answers"`},
		{"ErrSchemaName", release.Traceability, traceability(t, func(m map[string]any) { m["schema"] = "probity.traceability/2" }), 0, []string{"schema"}, ""},
		{"ErrNoFlowsField", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { delete(m, "data_flows") }), 0, []string{"data_flows"}, ""},
		{"ErrEncryptionUnstated", release.DataFlowManifest, dataFlow(t, func(m map[string]any) { delete(item(m, "data_flows", 0), "encrypted_in_transit") }), 0,
			[]string{"data_flows[0].encrypted_in_transit"}, ""},
		{"ErrPermissionTwice", release.DataFlowManifest, dataFlow(t, func(m map[string]any) {
			m["permissions"] = append(m["permissions"].([]any), item(m, "permissions", 0))
		}), 0, []string{"permissions[1].name"}, "listed twice"},
		{"ErrNoAnswers", release.Traceability, traceability(t, func(m map[string]any) { m["answers"] = []any{} }), 0, []string{"answers"}, ""},
		{"ErrAnswerStatus", release.Traceability, traceability(t, func(m map[string]any) { item(m, "answers", 0)["status"] = "yes" }), 0, []string{"answers[0].status"}, ""},
		{"ErrAnswerTwice", release.Traceability, traceability(t, func(m map[string]any) { item(m, "answers", 1)["requirement"] = "ac-2" }), 0, []string{"answers[1].requirement"}, ""},
		{"ErrNoEvidence", release.Traceability, traceability(t, func(m map[string]any) { item(m, "answers", 0)["evidence"] = " " }), 0, []string{"answers[0].evidence"}, ""},
		{"ErrTruncated", release.Traceability, traceability(t, nil)[:40], 0, []string{"document"}, "cut short"},
		{"ErrNotObject", release.Traceability, []byte(`[1,2]`), 0, []string{"document"}, "must be a JSON object"},
		{"ErrTrailing", release.Traceability, append(traceability(t, nil), []byte(` {}`)...), 0, []string{"document"}, "data after"},
		{"ErrTooLarge", release.Traceability, []byte(`{"schema":"` + strings.Repeat("x", release.MaxDocumentSize) + `"}`), 0, []string{"document"}, "larger than"},
		{"ErrNotADocument", release.StaticReport, traceability(t, nil), 0, []string{"kind"}, "imported as scans"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := release.ParseDocument(c.kind, c.doc, a, r)
			if len(c.want) == 0 {
				if err != nil || d.Kind != c.kind || d.Items != c.items {
					t.Fatalf("ParseDocument = %+v, %v", d, err)
				}
				return
			}
			wantFields(t, err, c.want...)
			if !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v; want it to say %q", err, c.says)
			}
		})
	}
}
