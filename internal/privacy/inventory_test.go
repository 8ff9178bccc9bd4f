package privacy_test

import (
	"slices"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/privacy"
)

func goodSource() privacy.Source {
	return privacy.Source{Name: "venntel-cbp", Title: "Venntel commercial telemetry (CBP)", SystemID: 1, Vendor: "Venntel, Inc.",
		ContractNumber: "70B04C21P00000123", ContractStart: day(1), ContractEnd: day(1).AddDate(1, 0, 0),
		Categories: []string{"device_location", " advertising_id", "device_location"}, Connector: privacy.VendorAPI}
}

func TestSource_Validate(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*privacy.Source)
		fields []string
	}{
		{"OK", func(*privacy.Source) {}, nil},
		{"ErrName", func(s *privacy.Source) { s.Name = "Venntel CBP"; s.RulesKey = "source:x" }, []string{"name"}},
		{"ErrNoSystem", func(s *privacy.Source) { s.SystemID = 0 }, []string{"system_id"}},
		{"ErrNoVendor", func(s *privacy.Source) { s.Vendor = " " }, []string{"vendor"}},
		{"ErrContractBackwards", func(s *privacy.Source) { s.ContractEnd = s.ContractStart }, []string{"contract_end"}},
		{"ErrNoCategories", func(s *privacy.Source) { s.Categories = nil }, []string{"categories"}},
		{"ErrBadCategory", func(s *privacy.Source) { s.Categories = []string{"Device Location"} }, []string{"categories[0]"}},
		{"ErrConnector", func(s *privacy.Source) { s.Connector = "ftp" }, []string{"connector"}},
		{"ErrRulesKey", func(s *privacy.Source) { s.RulesKey = "venntel" }, []string{"rules_key"}},
		{"ErrMany", func(s *privacy.Source) { s.Title, s.ContractNumber = "", "" }, []string{"title", "contract_number"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := goodSource()
			c.change(&s)
			s.Normalize()
			err := s.Validate()
			if c.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(s.Categories, []string{"advertising_id", "device_location"}) || s.RulesKey != "source:venntel-cbp" {
					t.Errorf("normalized to %q, rules key %q", s.Categories, s.RulesKey)
				}
				return
			}
			checkFields(t, err, c.fields...)
		})
	}
}

func TestChangesNeedingPIAUpdate(t *testing.T) {
	old := goodSource()
	old.Normalize()
	for _, c := range []struct {
		name   string
		change func(*privacy.Source)
		want   []string
	}{
		{"OKTitleOnly", func(s *privacy.Source) { s.Title = "Renamed"; s.ContractNumber = "X-2" }, nil},
		{"OKSameCategoriesOtherOrder", func(s *privacy.Source) { s.Categories = []string{"device_location", "advertising_id"} }, nil},
		{"OKVendorCase", func(s *privacy.Source) { s.Vendor = "VENNTEL, INC." }, nil},
		{"ErrVendor", func(s *privacy.Source) { s.Vendor = "Babel Street" }, []string{"vendor"}},
		{"ErrCategory", func(s *privacy.Source) { s.Categories = append(s.Categories, "ip_address") }, []string{"categories"}},
		{"ErrConnector", func(s *privacy.Source) { s.Connector = privacy.LocalStore }, []string{"connector"}},
		{"ErrAll", func(s *privacy.Source) {
			s.Vendor, s.Categories, s.Connector = "Other", []string{"x1"}, privacy.LocalStore
		},
			[]string{"vendor", "categories", "connector"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := old
			n.Categories = slices.Clone(old.Categories)
			c.change(&n)
			if got := privacy.ChangesNeedingPIAUpdate(old, n); !slices.Equal(got, c.want) {
				t.Errorf("changes %v, want %v", got, c.want)
			}
		})
	}
}

func TestSystem_Validate(t *testing.T) {
	good := privacy.System{Name: "Targeting analytics", Component: "CBP", OwnerID: 1, ISSOID: 2, Impact: privacy.High, ATOGranted: day(1), ATOExpires: day(1).AddDate(3, 0, 0)}
	for _, c := range []struct {
		name   string
		change func(*privacy.System)
		fields []string
	}{
		{"OK", func(*privacy.System) {}, nil},
		{"OKNoATOYet", func(s *privacy.System) { s.ATOGranted, s.ATOExpires = time.Time{}, time.Time{} }, nil},
		{"ErrImpact", func(s *privacy.System) { s.Impact = "severe" }, []string{"impact"}},
		{"ErrPeople", func(s *privacy.System) { s.OwnerID, s.ISSOID = 0, 0 }, []string{"owner_id", "isso_id"}},
		{"ErrExpiryWithoutGrant", func(s *privacy.System) { s.ATOGranted = time.Time{} }, []string{"ato_granted"}},
		{"ErrGrantWithoutExpiry", func(s *privacy.System) { s.ATOExpires = time.Time{} }, []string{"ato_expires"}},
		{"ErrBackwards", func(s *privacy.System) { s.ATOExpires = s.ATOGranted.AddDate(0, 0, -1) }, []string{"ato_expires"}},
		{"ErrTooLong", func(s *privacy.System) { s.ATOExpires = s.ATOGranted.AddDate(6, 0, 0) }, []string{"ato_expires"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := good
			c.change(&s)
			err := s.Validate()
			if c.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkFields(t, err, c.fields...)
		})
	}
	if got := good.ATOStatus(day(2)); got != "current" {
		t.Errorf("ATO status %q", got)
	}
	if got := good.ATOStatus(good.ATOExpires); got != "expired" {
		t.Errorf("ATO status at expiry %q", got)
	}
}

func TestValidateCredentialRef(t *testing.T) {
	for ref, ok := range map[string]bool{
		"sealed:cbp-venntel": true, "vault:kv/cbp/venntel": true,
		"": false, "cbp-venntel": false, "sealed:": false, "sealed:pass word": false, "Sealed:x": false,
	} {
		if err := privacy.ValidateCredentialRef(ref); (err == nil) != ok {
			t.Errorf("ValidateCredentialRef(%q) = %v", ref, err)
		}
	}
}

func TestPCR(t *testing.T) {
	now := day(5)
	p := privacy.PCR{Subject: "source/3", Title: "Annual review", AssigneeID: 9, DueAt: now.AddDate(0, 1, 0)}
	if err := p.ValidateAssignment(now); err != nil {
		t.Fatal(err)
	}
	p.DueAt = now
	checkFields(t, p.ValidateAssignment(now), "due_on")
	p.DueAt, p.Subject, p.AssigneeID = now.AddDate(3, 0, 0), "case/1", 0
	checkFields(t, p.ValidateAssignment(now), "subject", "assignee_id", "due_on")
	p.DueAt = now.Add(time.Hour)
	if p.Overdue(now) || !p.Overdue(now.Add(time.Hour)) {
		t.Error("overdue is not from the due instant")
	}
	p.CompletedAt = now
	if p.Overdue(now.Add(2 * time.Hour)) {
		t.Error("a completed review is overdue")
	}
	checkFields(t, privacy.ValidateCompletion("fine", "short"), "result", "findings")
	if err := privacy.ValidateCompletion(privacy.Compliant, "Sampled 25 queries; all matched the PIA's uses."); err != nil {
		t.Error(err)
	}
}
