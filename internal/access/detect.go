package access

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/probity-dev/probity/internal/detect"
	"github.com/probity-dev/probity/internal/query"
)

// Detectors adapts the misuse detectors to the screening hook: request
// findings become risk flags; result findings become alerts, and withhold
// the results when a detector says so.
func Detectors(d *detect.Detectors) Screener { return detectors{d} }

type detectors struct{ d *detect.Detectors }

func detectInput(in ScreenInput) detect.Input {
	return detect.Input{QueryID: in.QueryID, CaseID: in.Case.ID, Case: in.Case.Number, Request: in.Request, DeviceTag: in.DeviceTag, At: in.At,
		Requester: detect.Requester{ID: in.Person.ID, EmployeeID: in.Person.EmployeeID, Component: in.Person.Component, Schedule: in.Person.Schedule}}
}

func (s detectors) ScreenRequest(ctx context.Context, in ScreenInput) ([]string, error) {
	fs, err := s.d.Request(ctx, detectInput(in))
	if err != nil {
		return nil, err
	}
	var flags []string
	for _, f := range fs {
		if f.Flag != "" {
			flags = append(flags, f.Flag)
		}
	}
	return flags, nil
}

func (s detectors) ScreenResult(ctx context.Context, in ScreenInput, res query.Result) (Screening, error) {
	fs, err := s.d.Result(ctx, detectInput(in), res)
	if err != nil {
		return Screening{}, err
	}
	var sc Screening
	for _, f := range fs {
		sc.Withhold = sc.Withhold || f.Withhold
		sc.Flags = append(sc.Flags, f.Detector)
		sc.Alerts = append(sc.Alerts, f.Alert(in.Requester.Component, in.QueryID, in.Person.ID))
	}
	return sc, nil
}

// deviceTag is the keyed hash of a device's raw identifier in a source:
// the same in every case, unlike its pseudonyms, and revealing nothing of
// the identifier without the installation's secrets key.
func (s *Service) deviceTag(sourceID int64, raw string) string {
	if raw == "" || s.tagKey == nil {
		return ""
	}
	m := hmac.New(sha256.New, s.tagKey)
	m.Write([]byte(strconv.FormatInt(sourceID, 10)))
	m.Write([]byte{0})
	m.Write([]byte(raw))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
