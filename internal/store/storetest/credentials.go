package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/sealed"
	"github.com/probity-dev/probity/internal/store"
)

// mustSecretsKey returns a new secrets key.
func mustSecretsKey(tb testing.TB) *sealed.Key {
	tb.Helper()
	k, err := sealed.ParseKey(sealed.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// forms returns the ways a secret could show in text: as it is, its
// sealed value, and their base64, hex and SHA-256 forms.
func forms(secret string, sealedValues ...[]byte) []string {
	sum := sha256.Sum256([]byte(secret))
	out := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), hex.EncodeToString([]byte(secret)), hex.EncodeToString(sum[:]),
		base64.StdEncoding.EncodeToString(sum[:])}
	for _, s := range sealedValues {
		out = append(out, base64.StdEncoding.EncodeToString(s), hex.EncodeToString(s))
	}
	return out
}

func testCredentials(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	cs := o.DB.Connectors()
	key := mustSecretsKey(t)
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	const (
		name    = "cbp-venntel"
		secret1 = "vk_live_8d1f0b6e2c9a4735"
		secret2 = "vk_live_rotated_55e0c1d2a3b4"
	)
	seal := func(secret, name string) []byte { return key.Seal([]byte(secret), "credential/"+name) }
	opens := func(t *testing.T, name, want string) {
		t.Helper()
		sv, err := cs.Sealed(ctx, name)
		if err != nil {
			t.Fatalf("Sealed(%s): %v", name, err)
		}
		pt, err := key.Open(sv, "credential/"+name)
		if err != nil || string(pt) != want {
			t.Errorf("credential %s opens to %q, %v; want the secret stored", name, pt, err)
		}
	}
	entries := func(t *testing.T, typ string) []ledger.Entry { t.Helper(); return o.Entries(t, typ) }
	var sealedValues [][]byte

	t.Run("OKPut", func(t *testing.T) {
		sv := seal(secret1, name)
		sealedValues = append(sealedValues, sv)
		if err := cs.Put(ctx, o.As["cbp-isso"], name, sv, key.ID()); err != nil {
			t.Fatal(err)
		}
		opens(t, name, secret1)
		list, err := cs.List(ctx, o.As["cbp-isso"])
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %+v, %v", list, err)
		}
		c := list[0]
		if c.Name != name || c.Component != "CBP" || c.KeyID != key.ID() || c.CreatedBy != "cbp-isso" || c.UpdatedBy != "cbp-isso" || c.CreatedAt.IsZero() || c.Ref() != "sealed:"+name {
			t.Errorf("listed %+v", c)
		}
		es := entries(t, "credential.stored")
		if len(es) != 1 {
			t.Fatalf("%d credential.stored entries", len(es))
		}
		e := es[0]
		if e.Component != "CBP" || e.Subject != "credential/"+name || e.Data["name"] != name || e.Data["key_id"] != key.ID() || e.Data["replaced"] != false || e.Digest != "" {
			t.Errorf("entry %+v", e)
		}
	})
	t.Run("OKRotate", func(t *testing.T) {
		before, _ := cs.List(ctx, o.As["cbp-isso"])
		o.Clock.Advance(time.Hour)
		sv := seal(secret2, name)
		sealedValues = append(sealedValues, sv)
		if err := cs.Put(ctx, o.As["cbp-isso"], name, sv, key.ID()); err != nil {
			t.Fatal(err)
		}
		opens(t, name, secret2)
		after, _ := cs.List(ctx, o.As["cbp-isso"])
		if len(after) != 1 || !after[0].CreatedAt.Equal(before[0].CreatedAt) || !after[0].UpdatedAt.After(before[0].UpdatedAt) {
			t.Errorf("after rotation %+v (before %+v)", after, before)
		}
		es := entries(t, "credential.stored")
		if len(es) != 2 || es[1].Data["replaced"] != true || es[1].Data["previous_key_id"] != key.ID() {
			t.Errorf("rotation entry %+v", es[len(es)-1])
		}
	})
	t.Run("ErrRoles", func(t *testing.T) {
		// Separation of duties: the administrator neither sets nor reads
		// credentials; nor do privacy officers, analysts or auditors.
		n := len(o.Entries(t))
		for _, who := range []struct {
			label string
			p     auth.Principal
		}{{"administrator", admin}, {"cbp-cpo", o.As["cbp-cpo"]}, {"dpo", o.As["dpo"]}, {"auditor", o.As["auditor"]}, {"cbp-analyst", o.As["cbp-analyst"]}} {
			wantCode(t, who.label+" puts", cs.Put(ctx, who.p, name, seal("vk_live_attacker_00000000", name), key.ID()), fault.Forbidden)
			wantCode(t, who.label+" puts a new one", cs.Put(ctx, who.p, "fresh-name", seal("vk_live_attacker_00000000", "fresh-name"), key.ID()), fault.Forbidden)
			wantCode(t, who.label+" deletes", cs.Delete(ctx, who.p, name), fault.Forbidden)
			_, err := cs.List(ctx, who.p)
			wantCode(t, who.label+" lists", err, fault.Forbidden)
		}
		opens(t, name, secret2)
		if got := len(o.Entries(t)); got != n {
			t.Errorf("refused changes added %d ledger entries", got-n)
		}
	})
	t.Run("ErrOtherComponent", func(t *testing.T) {
		ice := o.As["ice-isso"]
		wantCode(t, "ICE replaces CBP's", cs.Put(ctx, ice, name, seal("vk_live_ice_replacement_0", name), key.ID()), fault.Conflict)
		wantCode(t, "ICE deletes CBP's", cs.Delete(ctx, ice, name), fault.NotFound)
		list, err := cs.List(ctx, ice)
		if err != nil || len(list) != 0 {
			t.Errorf("ICE lists %+v, %v", list, err)
		}
		opens(t, name, secret2)
		// ICE's own is ICE's.
		if err := cs.Put(ctx, ice, "ice-venntel", seal("vk_live_ice_000000000000", "ice-venntel"), key.ID()); err != nil {
			t.Fatal(err)
		}
		info, _, err := cs.Lookup(ctx, "ice-venntel")
		if err != nil || info.Component != "ICE" {
			t.Errorf("ICE's credential: %+v, %v", info, err)
		}
		if err := store.CheckCredentialFor(info, "CBP"); !fault.Is(err, fault.Forbidden) {
			t.Errorf("an ICE credential may serve a CBP source: %v", err)
		}
		if err := store.CheckCredentialFor(info, "ICE"); err != nil {
			t.Errorf("an ICE credential may not serve an ICE source: %v", err)
		}
		list, _ = cs.List(ctx, o.As["cbp-isso"])
		if len(list) != 1 || list[0].Name != name {
			t.Errorf("CBP lists %+v", list)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		n := len(o.Entries(t))
		isso := o.As["cbp-isso"]
		for _, bad := range []string{"", "x", "Upper", "-lead", "has space", "slash/name", strings.Repeat("a", 65), "sealed:cbp"} {
			wantCode(t, "name "+bad, cs.Put(ctx, isso, bad, seal(secret1, bad), key.ID()), fault.Invalid)
		}
		wantCode(t, "empty sealed value", cs.Put(ctx, isso, name, nil, key.ID()), fault.Invalid)
		wantCode(t, "huge sealed value", cs.Put(ctx, isso, name, make([]byte, store.MaxSealedCredential+1), key.ID()), fault.Invalid)
		wantCode(t, "bad key ID", cs.Put(ctx, isso, name, seal(secret1, name), "not-hex"), fault.Invalid)
		opens(t, name, secret2)
		if got := len(o.Entries(t)); got != n {
			t.Errorf("invalid requests added %d ledger entries", got-n)
		}
		_, err := cs.Sealed(ctx, "no-such-credential")
		wantCode(t, "Sealed of nothing", err, fault.NotFound)
	})
	t.Run("ErrMovedDoesNotOpen", func(t *testing.T) {
		// A value sealed for one name, stored under another, does not open.
		sv := seal("vk_live_moved_000000000", "cbp-other")
		if err := cs.Put(ctx, o.As["cbp-isso"], "cbp-moved", sv, key.ID()); err != nil {
			t.Fatal(err)
		}
		got, err := cs.Sealed(ctx, "cbp-moved")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := key.Open(got, "credential/cbp-moved"); !errors.Is(err, sealed.ErrOpen) {
			t.Errorf("a value sealed for another name opened: %v", err)
		}
		// Nor does one copied to another row in the database.
		if err := o.DB.Update(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE credentials SET sealed = (SELECT sealed FROM credentials WHERE name = $1) WHERE name = $2`, name, "cbp-moved")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, _ = cs.Sealed(ctx, "cbp-moved")
		if _, err := key.Open(got, "credential/cbp-moved"); !errors.Is(err, sealed.ErrOpen) {
			t.Errorf("a value copied from %s opened as cbp-moved: %v", name, err)
		}
		// Nor one sealed with another key.
		other := mustSecretsKey(t)
		if err := cs.Put(ctx, o.As["cbp-isso"], "cbp-otherkey", other.Seal([]byte(secret1), "credential/cbp-otherkey"), other.ID()); err != nil {
			t.Fatal(err)
		}
		got, _ = cs.Sealed(ctx, "cbp-otherkey")
		if _, err := key.Open(got, "credential/cbp-otherkey"); !errors.Is(err, sealed.ErrOpen) {
			t.Errorf("a value sealed with another key opened: %v", err)
		}
	})

	sys := o.MustSystem(t, "CBP", "Vendor analytics")
	src := o.MustSource(t, sys, "cbp-vendor")
	t.Run("OKEndpoint", func(t *testing.T) {
		_, err := cs.Endpoint(ctx, src.ID)
		wantCode(t, "no endpoint yet", err, fault.NotFound)
		e, err := cs.SetEndpoint(ctx, o.As["cbp-isso"], src.ID, "https://api.vendor.example/telemetry", 8*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if e.BaseURL != "https://api.vendor.example/telemetry/" || e.Timeout != 8*time.Second || e.UpdatedBy != "cbp-isso" {
			t.Errorf("set %+v", e)
		}
		got, err := cs.Endpoint(ctx, src.ID)
		if err != nil || got.BaseURL != e.BaseURL || got.Timeout != e.Timeout || !got.UpdatedAt.Equal(e.UpdatedAt) {
			t.Errorf("Endpoint = %+v, %v; want %+v", got, err, e)
		}
		// The same again changes nothing and records nothing.
		n := len(entries(t, "connector.endpoint_set"))
		if _, err := cs.SetEndpoint(ctx, o.As["cbp-cpo"], src.ID, "https://api.vendor.example/telemetry/", 8*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := len(entries(t, "connector.endpoint_set")); got != n {
			t.Errorf("setting the same endpoint added %d entries", got-n)
		}
		if _, err := cs.SetEndpoint(ctx, o.As["cbp-cpo"], src.ID, "https://api2.vendor.example/", 15*time.Second); err != nil {
			t.Fatal(err)
		}
		es := entries(t, "connector.endpoint_set")
		if len(es) != n+1 {
			t.Fatalf("%d connector.endpoint_set entries; want %d", len(es), n+1)
		}
		last := es[len(es)-1]
		prev, _ := last.Data["previous"].(map[string]any)
		if last.Subject != "source/"+itoa(src.ID) || last.Component != "CBP" || last.Data["base_url"] != "https://api2.vendor.example/" ||
			last.Data["timeout_ms"] != json.Number("15000") && last.Data["timeout_ms"] != float64(15000) || prev["base_url"] != "https://api.vendor.example/telemetry/" {
			t.Errorf("entry %+v", last)
		}
	})
	t.Run("ErrEndpoint", func(t *testing.T) {
		before, _ := cs.Endpoint(ctx, src.ID)
		n := len(o.Entries(t))
		for _, c := range []struct {
			label   string
			by      auth.Principal
			id      int64
			url     string
			timeout time.Duration
			code    fault.Code
		}{
			{"plain http", o.As["cbp-isso"], src.ID, "http://api.vendor.example/", time.Second, fault.Invalid},
			{"user info", o.As["cbp-isso"], src.ID, "https://u:p@api.vendor.example/", time.Second, fault.Invalid},
			{"query", o.As["cbp-isso"], src.ID, "https://api.vendor.example/?key=abc", time.Second, fault.Invalid},
			{"timeout too short", o.As["cbp-isso"], src.ID, "https://api.vendor.example/", time.Millisecond, fault.Invalid},
			{"timeout too long", o.As["cbp-isso"], src.ID, "https://api.vendor.example/", time.Hour, fault.Invalid},
			{"ICE", o.As["ice-isso"], src.ID, "https://evil.example/", time.Second, fault.NotFound},
			{"analyst", o.As["cbp-analyst"], src.ID, "https://evil.example/", time.Second, fault.Forbidden},
			{"auditor", o.As["auditor"], src.ID, "https://evil.example/", time.Second, fault.Forbidden},
			{"administrator", admin, src.ID, "https://evil.example/", time.Second, fault.NotFound},
			{"no source", o.As["cbp-isso"], 999999, "https://api.vendor.example/", time.Second, fault.NotFound},
		} {
			_, err := cs.SetEndpoint(ctx, c.by, c.id, c.url, c.timeout)
			wantCode(t, c.label, err, c.code)
		}
		local, err := o.Privacy.CreateSource(ctx, o.As["cbp-isso"], privacy.Source{Name: "cbp-local", Title: "Local", SystemID: sys.ID, Vendor: "Probity",
			ContractNumber: "N/A", Categories: []string{"device_location"}, Connector: privacy.LocalStore})
		if err != nil {
			t.Fatal(err)
		}
		n++ // the source's creation
		_, err = cs.SetEndpoint(ctx, o.As["cbp-isso"], local.ID, "https://api.vendor.example/", time.Second)
		wantCode(t, "local store source", err, fault.Invalid)
		after, _ := cs.Endpoint(ctx, src.ID)
		if after != before {
			t.Errorf("the endpoint changed: %+v, was %+v", after, before)
		}
		if got := len(o.Entries(t)); got != n {
			t.Errorf("refused changes added %d ledger entries", got-n)
		}
	})
	t.Run("OKDelete", func(t *testing.T) {
		if _, err := o.Privacy.SetCredential(ctx, o.As["cbp-isso"], src.ID, "sealed:"+name); err != nil {
			t.Fatal(err)
		}
		if err := cs.Delete(ctx, o.As["cbp-isso"], name); err != nil {
			t.Fatal(err)
		}
		_, err := cs.Sealed(ctx, name)
		wantCode(t, "read after delete", err, fault.NotFound)
		wantCode(t, "delete again", cs.Delete(ctx, o.As["cbp-isso"], name), fault.NotFound)
		es := entries(t, "credential.removed")
		if len(es) != 1 {
			t.Fatalf("%d credential.removed entries", len(es))
		}
		users, _ := es[0].Data["used_by"].([]any)
		if es[0].Data["name"] != name || es[0].Data["key_id"] != key.ID() || len(users) != 1 || users[0] != src.Name {
			t.Errorf("entry %+v", es[0])
		}
		// It can be stored again under the same name.
		if err := cs.Put(ctx, o.As["cbp-isso"], name, seal(secret1, name), key.ID()); err != nil {
			t.Fatal(err)
		}
		opens(t, name, secret1)
	})
	t.Run("OKNoSecretRecorded", func(t *testing.T) {
		// Neither a secret nor its sealed value nor a digest of either is
		// anywhere in the ledger.
		for _, e := range o.Entries(t) {
			raw, _ := json.Marshal(e)
			for _, s := range []string{secret1, secret2} {
				for _, f := range forms(s, sealedValues...) {
					if strings.Contains(string(raw), f) {
						t.Errorf("ledger entry %d (%s) holds a form of a secret: %s", e.Seq, e.Type, raw)
					}
				}
			}
		}
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
