// Package scanreport reads a security scan report of any format Probity
// imports (SARIF, MobSF, CycloneDX, SPDX): it detects the format from the
// content and hands the report to that format's importer.
package scanreport

import (
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/importer/cyclonedx"
	"github.com/probity-dev/probity/internal/importer/mobsf"
	"github.com/probity-dev/probity/internal/importer/sarif"
	"github.com/probity-dev/probity/internal/importer/spdx"
	"github.com/probity-dev/probity/internal/scan"
)

// Parse reads a report of at most limit bytes ([scan.DefaultMaxBytes]
// when limit is not positive) in whichever format it is. An oversized
// report is a [fault.TooLarge] error; one in no format Probity reads, or
// that its format's importer rejects, is a [fault.Invalid] error saying
// what and where. Either way nothing is returned: a report is imported
// whole or not at all.
func Parse(data []byte, limit int64) (scan.Report, error) {
	if err := scan.CheckSize("", data, limit); err != nil {
		return scan.Report{}, err
	}
	f, err := scan.Detect(data)
	if err != nil {
		return scan.Report{}, err
	}
	return parse(f, data, limit)
}

// ParseAs reads a report declared to be of format f, as a command-line
// flag or an API field declares it. A report whose content is plainly of
// another format is a [fault.Invalid] error rather than a guess.
func ParseAs(f scan.Format, data []byte, limit int64) (scan.Report, error) {
	if err := scan.CheckSize(f, data, limit); err != nil {
		return scan.Report{}, err
	}
	if detected, err := scan.Detect(data); err == nil && detected != f {
		return scan.Report{}, fault.New(fault.Invalid, "the report was declared as %s but is a %s report", f, detected)
	}
	return parse(f, data, limit)
}

func parse(f scan.Format, data []byte, limit int64) (scan.Report, error) {
	switch f {
	case scan.SARIF:
		return sarif.Parse(data, limit)
	case scan.MobSF:
		return mobsf.Parse(data, limit)
	case scan.CycloneDX:
		return cyclonedx.Parse(data, limit)
	case scan.SPDX:
		return spdx.Parse(data, limit)
	}
	return scan.Report{}, fault.New(fault.Invalid, "unknown report format %q (want sarif, mobsf, cyclonedx or spdx)", f)
}
