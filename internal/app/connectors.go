package app

import (
	"context"
	"log/slog"

	"github.com/probity-dev/probity/internal/access"
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/connector/vendorapi"
	"github.com/probity-dev/probity/internal/credentials"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// connectors gives the audited query path the connector of a data source:
// the local telemetry store's for a local_store source, and for a
// vendor_api source a client of the vendor built from the source's
// endpoint and its sealed credential. The credentials service keeps one
// client per source (and so one circuit breaker), rebuilt when the
// endpoint or the credential reference changes; the credential itself is
// opened on every call, so a rotation takes effect at once.
type connectors struct {
	telemetry *store.Telemetry
	vendors   *credentials.Service
	log       *slog.Logger
}

var _ access.Connectors = (*connectors)(nil)

func newConnectors(telemetry *store.Telemetry, vendors *credentials.Service, log *slog.Logger) *connectors {
	return &connectors{telemetry: telemetry, vendors: vendors, log: log}
}

// For returns the connector of src. A source whose connector cannot be
// built (no endpoint, no credential, a credential the secrets key does
// not open) gets a [connector.Error] the requester can be shown; the
// reason, which is for the security officer, is logged (it never holds
// the credential).
func (c *connectors) For(ctx context.Context, src privacy.Source) (connector.Connector, error) {
	switch src.Connector {
	case privacy.LocalStore:
		return c.telemetry.Connector(src.ID), nil
	case privacy.VendorAPI:
		cl, err := c.vendors.Client(ctx, src, vendorapi.Config{})
		if err != nil {
			if fault.CodeOf(err) == fault.Internal {
				return nil, err
			}
			c.log.Warn("vendor connector not usable", "source", src.Name, "err", fault.MessageOf(err))
			return nil, connector.Errorf(connector.ErrUnavailable, "its connector is not configured; ask the data source's security officer")
		}
		return cl, nil
	}
	return nil, connector.Errorf(connector.ErrUnavailable, "this installation has no %q connector", string(src.Connector))
}
