package release_test

import (
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/release"
)

// FuzzParseDocument checks that any input is either a document naming the
// release or a precise invalid error, never a panic.
func FuzzParseDocument(f *testing.F) {
	f.Add(0, dataFlow(f, nil))
	f.Add(1, traceability(f, nil))
	f.Add(0, []byte(`{"schema":"probity.data-flow/1","app":{},"permissions":null}`))
	f.Add(1, []byte(`{"answers":[{"requirement":"\u0000"}]}`))
	f.Add(1, []byte(`{`))
	a, r := validApp(), validRelease()
	f.Fuzz(func(t *testing.T, kind int, b []byte) {
		k := release.DataFlowManifest
		if kind%2 != 0 {
			k = release.Traceability
		}
		d, err := release.ParseDocument(k, b, a, r)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid || fault.MessageOf(err) == "" {
				t.Fatalf("err = %v (code %s)", err, fault.CodeOf(err))
			}
			return
		}
		if d.Subject.Version != r.Version || d.Subject.BundleID != a.BundleID {
			t.Fatalf("accepted a document of another build: %+v", d.Subject)
		}
		if s, err := release.NormalizeSHA256(d.Subject.SHA256); err != nil || s != r.SHA256 {
			t.Fatalf("accepted a document of another artifact: %q", d.Subject.SHA256)
		}
	})
}

// FuzzDecodePolicy checks that any input is either a valid policy that
// encodes back to itself or a precise invalid error.
func FuzzDecodePolicy(f *testing.F) {
	p := release.DefaultPolicy()
	p.Normalize()
	f.Add(p.Encode())
	f.Add([]byte(`{"scans":[{"type":"static","run_by":["security_officer"],"review_by":["auditor"]}],"block_at":"low"}`))
	f.Add([]byte(`{"sla":{"critical_days":-1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := release.DecodePolicy(b)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("err = %v (code %s)", err, fault.CodeOf(err))
			}
			return
		}
		q, err := release.DecodePolicy(p.Encode())
		if err != nil || string(q.Encode()) != string(p.Encode()) {
			t.Fatalf("round trip: %s → %v", p.Encode(), err)
		}
	})
}
