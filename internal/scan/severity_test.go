package scan

import (
	"math"
	"testing"
)

func TestFromCVSS(t *testing.T) {
	tests := []struct {
		score float64
		want  Severity
		ok    bool
	}{
		{10, Critical, true},
		{9.0, Critical, true},
		{8.9, High, true},
		{7.0, High, true},
		{6.9, Medium, true},
		{4.0, Medium, true},
		{3.9, Low, true},
		{0.1, Low, true},
		{0, Info, true},
		{-0.1, "", false},
		{10.1, "", false},
		{math.NaN(), "", false},
	}
	for _, tt := range tests {
		got, ok := FromCVSS(tt.score)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FromCVSS(%v) = %q, %v; want %q, %v", tt.score, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFromSecuritySeverity(t *testing.T) {
	tests := []struct {
		name  string
		v     any
		want  Severity
		score float64
		ok    bool
	}{
		{"String", "8.8", High, 8.8, true},
		{"StringSpaces", " 9.1 ", Critical, 9.1, true},
		{"Number", 5.3, Medium, 5.3, true},
		{"Zero", "0", Info, 0, true},
		{"NotANumber", "high", "", 0, false},
		{"OutOfRange", "11", "", 0, false},
		{"Bool", true, "", 0, false},
		{"Nil", nil, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, score, ok := FromSecuritySeverity(tt.v)
			if got != tt.want || ok != tt.ok || (ok && score != tt.score) {
				t.Errorf("got %q, %v, %v; want %q, %v, %v", got, score, ok, tt.want, tt.score, tt.ok)
			}
		})
	}
}

func TestFromSARIFLevel(t *testing.T) {
	for level, want := range map[string]Severity{"error": High, "warning": Medium, "note": Low, "none": Info} {
		if got, ok := FromSARIFLevel(level); !ok || got != want {
			t.Errorf("FromSARIFLevel(%q) = %q, %v; want %q", level, got, ok, want)
		}
	}
	for _, level := range []string{"", "Error", "critical", "fail"} {
		if got, ok := FromSARIFLevel(level); ok {
			t.Errorf("FromSARIFLevel(%q) = %q; want no severity", level, got)
		}
	}
}

func TestFromName(t *testing.T) {
	for name, want := range map[string]Severity{
		"CRITICAL": Critical, "High": High, "medium": Medium, "moderate": Medium,
		"low": Low, "info": Info, "informational": Info, "none": Info, "negligible": Info,
	} {
		if got, ok := FromName(name); !ok || got != want {
			t.Errorf("FromName(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"unknown", "", "severe"} {
		if got, ok := FromName(name); ok {
			t.Errorf("FromName(%q) = %q; want no severity", name, got)
		}
	}
}

func TestFromSeverityTag(t *testing.T) {
	for tag, want := range map[string]Severity{"HIGH": High, "Medium": Medium, "low": Low, "critical": Critical, "info": Info} {
		if got, ok := FromSeverityTag(tag); !ok || got != want {
			t.Errorf("FromSeverityTag(%q) = %q, %v; want %q", tag, got, ok, want)
		}
	}
	// Words that are severities to FromName but too common in tags to be
	// read as one.
	for _, tag := range []string{"security", "cwe", "none", "moderate", "external/cwe/cwe-79"} {
		if got, ok := FromSeverityTag(tag); ok {
			t.Errorf("FromSeverityTag(%q) = %q; want no severity", tag, got)
		}
	}
}

func TestFromMobSF(t *testing.T) {
	for s, want := range map[string]Severity{"high": High, "warning": Medium, "info": Info, "secure": Info, "good": Info, "HIGH": High} {
		if got, ok := FromMobSF(s); !ok || got != want {
			t.Errorf("FromMobSF(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "hotspot", "critical", "dangerous"} {
		if got, ok := FromMobSF(s); ok {
			t.Errorf("FromMobSF(%q) = %q; want no severity", s, got)
		}
	}
}

func TestSeverity_Rank(t *testing.T) {
	for i := 1; i < len(Severities); i++ {
		if !(Severities[i-1].Rank() > Severities[i].Rank()) {
			t.Errorf("%s does not rank above %s", Severities[i-1], Severities[i])
		}
	}
	if Severity("severe").Valid() || !Info.Valid() {
		t.Error("Valid is wrong")
	}
	if !High.AtLeast(Medium) || !High.AtLeast(High) || Low.AtLeast(Medium) {
		t.Error("AtLeast is wrong")
	}
	if Unrated != High {
		t.Errorf("unrated findings are %s; unknown risk must fail closed as high", Unrated)
	}
}

func TestParseSeverity(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		if got, err := ParseSeverity(" High "); err != nil || got != High {
			t.Errorf("got %q, %v", got, err)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		if _, err := ParseSeverity("severe"); err == nil {
			t.Error("no error")
		}
	})
}
