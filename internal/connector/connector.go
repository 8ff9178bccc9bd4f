// Package connector defines how Probity reads location telemetry: the
// questions a connector answers (an area search, a device history) and
// the errors it reports. The built-in local telemetry store and the
// upstream vendor connector both implement [Connector]; the audited query
// path is the only caller.
//
// Connectors speak in the source's own device identifiers. The query path
// replaces them with per-case pseudonyms before anything leaves it, so
// nothing here is ever shown to a person or written to the ledger as is.
package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/probity-dev/probity/internal/geo"
)

// An AreaRequest asks which devices were seen inside an area during a
// time window [From, To).
type AreaRequest struct {
	Area     *geo.Area
	From, To time.Time
	// Limit is the most devices the caller accepts. A connector returns
	// at most Limit+1 devices, so that the caller can tell "exactly Limit"
	// from "more than Limit" and refuse the latter as too broad.
	Limit int
}

// A DeviceSeen is one device an area search found, with when it was first
// and last seen inside the area during the window and how many of its
// pings fell there.
type DeviceSeen struct {
	Device    string
	FirstSeen time.Time
	LastSeen  time.Time
	Pings     int
}

// A DeviceRequest asks for one device's pings during [From, To).
type DeviceRequest struct {
	Device   string
	From, To time.Time
	// Limit is the most pings the caller accepts; a connector returns at
	// most Limit+1 (see [AreaRequest.Limit]).
	Limit int
}

// A Ping is one position of a device.
type Ping struct {
	Time      time.Time
	Lat, Lon  float64
	AccuracyM float64 // 0 when unknown
}

// A Connector answers location queries against one data source. Results
// are ordered: devices by identifier, pings by time. Implementations must
// honour ctx's deadline and must not retain the requests' slices.
type Connector interface {
	AreaSearch(ctx context.Context, r AreaRequest) ([]DeviceSeen, error)
	DeviceHistory(ctx context.Context, r DeviceRequest) ([]Ping, error)
}

// An Estimator estimates, cheaply, how many devices an area search would
// find; the query path uses it to set the risk tier before asking for
// approval. Connectors that cannot estimate do not implement it.
type Estimator interface {
	EstimateDevices(ctx context.Context, r AreaRequest) (int, error)
}

// Errors a connector reports, wrapped in an [*Error]. The query path turns
// them into messages for the requester and records them (never the
// connector's raw error text, which may quote a vendor's response).
var (
	ErrUnavailable = errors.New("the data source is unavailable")         // timeouts, refused connections, 5xx, an open circuit breaker
	ErrRejected    = errors.New("the data source rejected the request")   // 4xx other than authentication
	ErrAuth        = errors.New("the data source refused the credential") // 401/403: the credential is wrong or revoked
	ErrMalformed   = errors.New("the data source answered with data Probity cannot read")
)

// An Error is a connector failure: its Kind is one of the Err values above;
// Detail is safe to show and to record (it never holds the credential or
// the vendor's response body).
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Detail)
}

func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an [*Error] of the given kind.
func Errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
