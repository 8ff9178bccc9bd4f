package release_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/release"
)

const digestA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// fields returns the invalid fields of a validation error, or fails.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if fault.CodeOf(err) != fault.Invalid {
		t.Fatalf("err = %v (code %s); want invalid", err, fault.CodeOf(err))
	}
	ve, ok := errors.AsType[*release.ValidationError](err)
	if !ok {
		t.Fatalf("err = %v; want a *ValidationError", err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func wantFields(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("err = %v; want none", err)
		}
		return
	}
	got := fields(t, err)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("invalid fields = %v; want %v (%v)", got, want, err)
	}
}

func validApp() release.App {
	return release.App{Name: "Mobile Passport Control", Platform: release.IOS, BundleID: "gov.dhs.cbp.mpc", Developer: "Example Apps LLC", SystemID: 1, PIAID: 2}
}

func TestApp_Validate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*release.App)
		want   []string
	}{
		{"OK", func(*release.App) {}, nil},
		{"OKAndroid", func(a *release.App) { a.Platform, a.BundleID = release.Android, "gov.dhs.cbp.mpc_app" }, nil},
		{"ErrNoName", func(a *release.App) { a.Name = "  " }, []string{"name"}},
		{"ErrPlatform", func(a *release.App) { a.Platform = "windows" }, []string{"platform"}},
		{"ErrNoBundle", func(a *release.App) { a.BundleID = "" }, []string{"bundle_id"}},
		{"ErrBundleOnePart", func(a *release.App) { a.BundleID = "mpc" }, []string{"bundle_id"}},
		{"ErrBundleIOSUnderscore", func(a *release.App) { a.BundleID = "gov.dhs.cbp_mpc" }, []string{"bundle_id"}},
		{"ErrAndroidHyphen", func(a *release.App) { a.Platform, a.BundleID = release.Android, "gov.dhs.cbp-mpc" }, []string{"bundle_id"}},
		{"ErrAndroidDigitFirst", func(a *release.App) { a.Platform, a.BundleID = release.Android, "gov.1dhs" }, []string{"bundle_id"}},
		{"ErrBundleLong", func(a *release.App) { a.BundleID = "a." + strings.Repeat("b", release.MaxBundleID) }, []string{"bundle_id"}},
		{"ErrDeveloperControl", func(a *release.App) { a.Developer = "Example\nApps" }, []string{"developer"}},
		{"ErrNoLinks", func(a *release.App) { a.SystemID, a.PIAID = 0, -1 }, []string{"system_id", "pia_id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := validApp()
			c.change(&a)
			wantFields(t, a.Validate(), c.want...)
		})
	}
	t.Run("Normalize", func(t *testing.T) {
		a := validApp()
		a.Name, a.BundleID = "  MPC ", " gov.dhs.cbp.mpc\t"
		a.Normalize()
		if a.Name != "MPC" || a.BundleID != "gov.dhs.cbp.mpc" {
			t.Fatalf("normalized = %q, %q", a.Name, a.BundleID)
		}
	})
}

func validRelease() release.Release {
	return release.Release{AppID: 1, Version: "3.2.1", Build: "451", SHA256: digestA, DigestSource: release.Declared}
}

func TestRelease_Validate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*release.Release)
		want   []string
	}{
		{"OK", func(*release.Release) {}, nil},
		{"OKPrerelease", func(r *release.Release) { r.Version, r.Build = "3.2.1-rc.1+exp", "2024.05.01_3" }, nil},
		{"OKListing", func(r *release.Release) { r.StoreListing = "https://apps.apple.com/us/app/id1234567890" }, nil},
		{"ErrNoApp", func(r *release.Release) { r.AppID = 0 }, []string{"app_id"}},
		{"ErrVersionEmpty", func(r *release.Release) { r.Version = "" }, []string{"version"}},
		{"ErrVersionSpace", func(r *release.Release) { r.Version = "3.2 beta" }, []string{"version"}},
		{"ErrVersionLeadingDot", func(r *release.Release) { r.Version = ".3" }, []string{"version"}},
		{"ErrVersionLong", func(r *release.Release) { r.Version = strings.Repeat("1", 65) }, []string{"version"}},
		{"ErrBuildPlus", func(r *release.Release) { r.Build = "45+1" }, []string{"build"}},
		{"ErrDigestShort", func(r *release.Release) { r.SHA256 = digestA[:63] }, []string{"sha256"}},
		{"ErrDigestNotHex", func(r *release.Release) { r.SHA256 = "z" + digestA[1:] }, []string{"sha256"}},
		{"ErrSource", func(r *release.Release) { r.DigestSource = "guessed" }, []string{"digest_source"}},
		{"ErrListingLine", func(r *release.Release) { r.StoreListing = "a\nb" }, []string{"store_listing"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := validRelease()
			c.change(&r)
			wantFields(t, r.Validate(), c.want...)
		})
	}
	t.Run("NormalizeDigest", func(t *testing.T) {
		r := validRelease()
		r.SHA256, r.DigestSource = " SHA256:"+strings.ToUpper(digestA)+" ", ""
		r.Normalize()
		if r.SHA256 != digestA || r.DigestSource != release.Declared {
			t.Fatalf("normalized = %q, %q", r.SHA256, r.DigestSource)
		}
	})
}

func TestNormalizeSHA256(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"OK", digestA, digestA},
		{"OKUpper", strings.ToUpper(digestA), digestA},
		{"OKPrefix", "sha256:" + digestA, digestA},
		{"ErrEmpty", "", ""},
		{"ErrSHA1", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", ""},
		{"ErrNotHex", strings.Repeat("g", 64), ""},
		{"ErrOtherPrefix", "sha512:" + digestA, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := release.NormalizeSHA256(c.in)
			if c.want == "" {
				if err == nil || fault.CodeOf(err) != fault.Invalid {
					t.Fatalf("NormalizeSHA256(%q) = %q, %v; want an invalid error", c.in, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NormalizeSHA256(%q) = %q, %v", c.in, got, err)
			}
		})
	}
}
