package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probity-dev/probity/internal/auth"
	"github.com/probity-dev/probity/internal/connector"
	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/geo"
	"github.com/probity-dev/probity/internal/identity"
	"github.com/probity-dev/probity/internal/importer/csvfile"
	"github.com/probity-dev/probity/internal/importer/ping"
	"github.com/probity-dev/probity/internal/ledger"
	"github.com/probity-dev/probity/internal/privacy"
	"github.com/probity-dev/probity/internal/store"
)

// MustLocalSource adds a data source of sys whose connector is the local
// telemetry store.
func (o *PrivacyOrg) MustLocalSource(tb testing.TB, sys privacy.System, name string) privacy.Source {
	tb.Helper()
	src, err := o.Privacy.CreateSource(context.Background(), o.As[strings.ToLower(sys.Component)+"-isso"], privacy.Source{
		Name: name, Title: "Source " + name, SystemID: sys.ID, Vendor: "Probity local telemetry store", ContractNumber: "N/A-" + name,
		Categories: []string{"device_location"}, Connector: privacy.LocalStore})
	if err != nil {
		tb.Fatalf("create source %s: %v", name, err)
	}
	return src
}

// MustLocalSourceDB adds to db, whose ledger is open, what a data source of
// the local telemetry store needs — a component LTS, its security officer
// and a system — and a source called name, and a vendor API source of the
// same system for each of vendors. Call it once per database.
func MustLocalSourceDB(tb testing.TB, db *store.DB, name string, vendors ...string) privacy.Source {
	tb.Helper()
	ctx := context.Background()
	ids := db.Identity()
	admin := auth.Principal{Kind: ledger.ActorToken, ID: "storetest-admin", Grants: []auth.Grant{{Role: auth.Administrator}}}
	if err := ids.CreateComponent(ctx, admin, identity.Component{Code: "LTS", Name: "Local telemetry"}); err != nil {
		tb.Fatal(err)
	}
	person, secret, err := ids.Invite(ctx, admin, identity.Person{EmployeeID: "lts-isso", Name: "Test ISSO", Email: "lts-isso@example.gov", Component: "LTS", Schedule: identity.DefaultSchedule()})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ids.GrantRole(ctx, admin, identity.Grant{PersonID: person.ID, Role: auth.SecurityOfficer, Component: "LTS"}); err != nil {
		tb.Fatal(err)
	}
	if person, err = ids.Activate(ctx, secret, store.Enrolment{PasswordHash: "unused", TOTPSealed: []byte("unused")}); err != nil {
		tb.Fatal(err)
	}
	grants, err := ids.Grants(ctx, person.ID)
	if err != nil {
		tb.Fatal(err)
	}
	isso := identity.Principal(person, grants)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	sys, err := db.Privacy().CreateSystem(ctx, isso, privacy.System{Name: "Local telemetry store", Component: "LTS", OwnerID: person.ID, ISSOID: person.ID,
		Impact: privacy.High, ATOGranted: today.AddDate(-1, 0, 0), ATOExpires: today.AddDate(2, 0, 0)})
	if err != nil {
		tb.Fatal(err)
	}
	src, err := db.Privacy().CreateSource(ctx, isso, privacy.Source{Name: name, Title: "Source " + name, SystemID: sys.ID, Vendor: "Probity local telemetry store",
		ContractNumber: "N/A-" + name, Categories: []string{"device_location"}, Connector: privacy.LocalStore})
	if err != nil {
		tb.Fatal(err)
	}
	for _, v := range vendors {
		if _, err := db.Privacy().CreateSource(ctx, isso, privacy.Source{Name: v, Title: "Source " + v, SystemID: sys.ID, Vendor: "Example Telemetry, Inc.",
			ContractNumber: "70B-" + v, Categories: []string{"device_location"}, Connector: privacy.VendorAPI}); err != nil {
			tb.Fatal(err)
		}
	}
	return src
}

// A PingList is a [store.PingSource] over pings and row errors held in
// memory, in order.
type PingList struct {
	Items []PingItem
	next  int
}

// A PingItem is one ping or one row error of a [PingList].
type PingItem struct {
	Ping ping.Ping
	Err  error
}

// Next returns the next item, then io.EOF.
func (l *PingList) Next() (ping.Ping, error) {
	if l.next >= len(l.Items) {
		return ping.Ping{}, io.EOF
	}
	it := l.Items[l.next]
	l.next++
	return it.Ping, it.Err
}

// NewPingList returns a list of the pings, numbered as lines 1, 2, ….
func NewPingList(ps []ping.Ping) *PingList {
	l := &PingList{}
	for i, p := range ps {
		p.Line = i + 1
		l.Items = append(l.Items, PingItem{Ping: p})
	}
	return l
}

// telemetryCentre is where the generated pings of the tests lie.
const telemetryLat, telemetryLon = 38.8895, -77.0353

// genPings returns n pings of devices d0…d(devices-1) in a box of about
// 3.3 km around telemetryCentre over ten days from start, with times that
// have sub-millisecond parts, and a few exact duplicates and same-time
// pings at another position.
func genPings(seed uint64, n, devices int, start time.Time) []ping.Ping {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]ping.Ping, 0, n+n/50)
	for range n {
		p := ping.Ping{
			Device: fmt.Sprintf("d%03d", rng.IntN(devices)),
			Time:   start.Add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour)))).UTC(),
			Lat:    telemetryLat + (rng.Float64()-0.5)*0.03,
			Lon:    telemetryLon + (rng.Float64()-0.5)*0.04,
		}
		if rng.IntN(3) == 0 {
			p.AccuracyM = float64(rng.IntN(500)) / 4
		}
		out = append(out, p)
	}
	for i := range n / 100 {
		out = append(out, out[i*37%n]) // exact duplicate
		moved := out[i*53%n]
		moved.Lat += 0.0001 // same device and time, another position
		out = append(out, moved)
	}
	return out
}

// storedPing is a ping as the local store keeps it.
type storedPing struct {
	device   string
	ms       int64
	lat, lon float64
	acc      float64
}

// stored returns the pings the local store keeps of ps: times truncated to
// the millisecond, one per device, time and position (the first).
func stored(ps []ping.Ping) []storedPing {
	type key struct {
		device   string
		ms       int64
		lat, lon float64
	}
	seenKeys := map[key]bool{}
	var out []storedPing
	for _, p := range ps {
		k := key{p.Device, p.Time.UnixMilli(), p.Lat, p.Lon}
		if seenKeys[k] {
			continue
		}
		seenKeys[k] = true
		out = append(out, storedPing{p.Device, k.ms, p.Lat, p.Lon, p.AccuracyM})
	}
	return out
}

// inWindow reports whether a stored time lies in [from, to), by brute force
// on times rather than milliseconds.
func inWindow(ms int64, from, to time.Time) bool {
	t := time.UnixMilli(ms)
	return !t.Before(from) && t.Before(to)
}

// bruteArea answers an area search over pings by looking at each.
func bruteArea(pings []storedPing, a *geo.Area, from, to time.Time) []connector.DeviceSeen {
	m := map[string]*connector.DeviceSeen{}
	for _, p := range pings {
		if !inWindow(p.ms, from, to) || !a.Contains(p.lat, p.lon) {
			continue
		}
		t := time.UnixMilli(p.ms).UTC()
		s := m[p.device]
		if s == nil {
			m[p.device] = &connector.DeviceSeen{Device: p.device, FirstSeen: t, LastSeen: t, Pings: 1}
			continue
		}
		if t.Before(s.FirstSeen) {
			s.FirstSeen = t
		}
		if t.After(s.LastSeen) {
			s.LastSeen = t
		}
		s.Pings++
	}
	out := []connector.DeviceSeen{}
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b connector.DeviceSeen) int { return strings.Compare(a.Device, b.Device) })
	return out
}

// bruteHistory answers a device history over pings by looking at each.
func bruteHistory(pings []storedPing, device string, from, to time.Time) []connector.Ping {
	var out []storedPing
	for _, p := range pings {
		if p.device == device && inWindow(p.ms, from, to) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b storedPing) int {
		if a.ms != b.ms {
			return int(a.ms - b.ms)
		}
		if a.lat != b.lat {
			return compareFloat(a.lat, b.lat)
		}
		return compareFloat(a.lon, b.lon)
	})
	res := []connector.Ping{}
	for _, p := range out {
		res = append(res, connector.Ping{Time: time.UnixMilli(p.ms).UTC(), Lat: p.lat, Lon: p.lon, AccuracyM: p.acc})
	}
	return res
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// telemetryCounts counts the rows of the local store's tables.
func telemetryCounts(tb testing.TB, db *store.DB) [3]int {
	tb.Helper()
	ctx := context.Background()
	var n [3]int
	err := db.View(ctx, func(tx *store.Tx) error {
		for i, table := range []string{"telemetry_pings", "telemetry_devices", "telemetry_imports"} {
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func sourcePings(tb testing.TB, db *store.DB, sourceID int64) int64 {
	tb.Helper()
	st, err := db.Telemetry().Stats(context.Background(), sourceID)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Pings
}

var telemetryActor = ledger.Actor{Kind: ledger.ActorSystem, ID: "storetest import"}

func testTelemetry(t *testing.T, d store.Dialect) {
	ctx := context.Background()
	o := MustPrivacyOrg(t, d)
	tel := o.DB.Telemetry()
	sys := o.MustSystem(t, "CBP", "Location analytics")
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

	t.Run("Import", func(t *testing.T) {
		src := o.MustLocalSource(t, sys, "local-import")
		ps := genPings(1, 3000, 40, start)
		want := stored(ps)
		digest := strings.Repeat("ab", 32)
		var progress []store.ImportStats
		stats, err := tel.Import(ctx, telemetryActor, src.Name, NewPingList(ps), store.ImportOptions{
			FileName: "pings.csv", Format: "csv", SHA256: digest, BatchSize: 700,
			Progress: func(s store.ImportStats) { progress = append(progress, s) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if stats.Read != int64(len(ps)) || stats.Inserted != int64(len(want)) || stats.Duplicates != int64(len(ps)-len(want)) || stats.Bad != 0 || stats.ImportID == 0 {
			t.Fatalf("stats %+v; want read %d, inserted %d, duplicates %d", stats, len(ps), len(want), len(ps)-len(want))
		}
		if stats.Duplicates == 0 {
			t.Fatal("the generated pings hold no duplicates; the test proves nothing")
		}
		// One progress report per committed batch, the last the final count.
		if wantBatches := (len(ps) + 699) / 700; len(progress) != wantBatches || progress[len(progress)-1].Inserted != stats.Inserted {
			t.Errorf("%d progress reports (last %+v), want %d ending with the final counts", len(progress), progress[len(progress)-1], wantBatches)
		}
		st, err := tel.Stats(ctx, src.ID)
		if err != nil {
			t.Fatal(err)
		}
		first, last := want[0].ms, want[0].ms
		for _, p := range want {
			first, last = min(first, p.ms), max(last, p.ms)
		}
		if st.Pings != int64(len(want)) || st.Devices != 40 || st.Imports != 1 || !st.First.Equal(time.UnixMilli(first)) || !st.Last.Equal(time.UnixMilli(last)) {
			t.Errorf("Stats = %+v; want %d pings, 40 devices, 1 import, %v…%v", st, len(want), time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC())
		}
		imports, err := tel.Imports(ctx, src.ID)
		if err != nil || len(imports) != 1 {
			t.Fatalf("Imports = %v, %v", imports, err)
		}
		im := imports[0]
		if im.ID != stats.ImportID || im.Status != store.ImportComplete || im.FileName != "pings.csv" || im.Format != "csv" || im.SHA256 != digest ||
			im.Read != stats.Read || im.Inserted != stats.Inserted || im.Duplicates != stats.Duplicates || im.Bad != 0 ||
			!im.FirstPing.Equal(st.First) || !im.LastPing.Equal(st.Last) || im.Actor != "system:storetest import" || im.FinishedAt.IsZero() {
			t.Errorf("import record %+v does not match stats %+v", im, stats)
		}

		// The ledger: "import_started" with the first batch, "imported"
		// with the last, both naming the source, file and digest.
		var mine []ledger.Entry
		for _, e := range o.Entries(t, "telemetry.import_started", "telemetry.imported") {
			if e.Subject == fmt.Sprintf("source/%d", src.ID) {
				mine = append(mine, e)
			}
		}
		if len(mine) != 2 || mine[0].Type != "telemetry.import_started" || mine[1].Type != "telemetry.imported" {
			t.Fatalf("ledger entries %+v; want import_started then imported", mine)
		}
		e := mine[1]
		wantData := map[string]any{"import_id": stats.ImportID, "source": src.Name, "file": "pings.csv", "format": "csv", "status": "complete",
			"read": stats.Read, "inserted": stats.Inserted, "duplicates": stats.Duplicates, "bad": 0,
			"first_ping": st.First.Format(time.RFC3339Nano), "last_ping": st.Last.Format(time.RFC3339Nano)}
		for k, v := range wantData {
			if !dataIs(e, k, v) {
				t.Errorf("entry data %s = %v, want %v", k, e.Data[k], v)
			}
		}
		if e.Digest != "sha256:"+digest || e.Component != "CBP" || e.Actor != telemetryActor {
			t.Errorf("entry %+v: want digest, component CBP and actor %v", e, telemetryActor)
		}
		if started := mine[0]; !dataIs(started, "status", "running") || !dataIs(started, "inserted", progress[0].Inserted) {
			t.Errorf("started entry %+v; want status running and the first batch's count %d", started.Data, progress[0].Inserted)
		}
		for _, e := range mine {
			for k, v := range e.Data {
				if s, ok := v.(string); ok && strings.HasPrefix(s, "d0") {
					t.Errorf("entry %s holds a device identifier in %s", e.Type, k)
				}
			}
		}

		t.Run("Again", func(t *testing.T) {
			// A second import of the same pings stores nothing new; a small
			// one is one batch and one entry.
			before := len(o.Entries(t, "telemetry.import_started", "telemetry.imported"))
			stats, err := tel.Import(ctx, telemetryActor, src.Name, NewPingList(ps), store.ImportOptions{FileName: "pings.csv", Format: "csv"})
			if err != nil {
				t.Fatal(err)
			}
			if stats.Inserted != 0 || stats.Duplicates != int64(len(ps)) {
				t.Errorf("stats %+v; want every ping a duplicate", stats)
			}
			if got := sourcePings(t, o.DB, src.ID); got != int64(len(want)) {
				t.Errorf("%d pings stored, want %d", got, len(want))
			}
			if n := len(o.Entries(t, "telemetry.import_started", "telemetry.imported")); n != before+1 {
				t.Errorf("%d entries after a one-batch import, want %d", n, before+1)
			}
		})
	})

	t.Run("BadRows", func(t *testing.T) {
		src := o.MustLocalSource(t, sys, "local-bad")
		csv := "device,time,lat,lon,accuracy\n" +
			"a,2025-03-01T10:00:00Z,38.88,-77.01,5\n" +
			"a,2025-03-01T10:01:00Z,38.881,-77.011,\n" +
			"a,2025-03-01T10:02:00Z,91.5,-77.012,5\n" + // line 4: latitude
			"b,2025-03-01T10:00:00Z,38.89,-77.02,7\n" +
			"b,2025-03-01T10:00:00Z,38.89,-77.02,7\n" + // duplicate
			"b,yesterday,38.89,-77.02,7\n" + // line 7: time
			"c,2025-03-01T10:00:00Z,38.89,-77.03,-1\n" // line 8: accuracy
		stats, err := tel.Import(ctx, telemetryActor, src.Name, csvfile.NewReader(strings.NewReader(csv), csvfile.Options{}), store.ImportOptions{FileName: "bad.csv", Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		var lines []int
		for _, e := range stats.Errors {
			lines = append(lines, e.Line)
		}
		if stats.Read != 7 || stats.Inserted != 3 || stats.Duplicates != 1 || stats.Bad != 3 || !slices.Equal(lines, []int{4, 7, 8}) {
			t.Fatalf("stats %+v, bad lines %v; want read 7, inserted 3, duplicates 1, bad lines 4, 7, 8", stats, lines)
		}
		if f := stats.Errors[0].Field; f != "lat" {
			t.Errorf("line 4's error names %q, want lat", f)
		}
		if got := sourcePings(t, o.DB, src.ID); got != 3 {
			t.Errorf("%d pings stored, want 3", got)
		}
	})

	t.Run("ErrStopOnError", func(t *testing.T) {
		src := o.MustLocalSource(t, sys, "local-stop")
		var b strings.Builder
		b.WriteString("device,time,lat,lon\n")
		for i := range 30 { // lines 2…31
			if i+2 == 27 {
				b.WriteString("a,2025-03-01T10:00:00Z,38.9,not-a-number\n")
				continue
			}
			fmt.Fprintf(&b, "a,2025-03-01T10:%02d:00Z,38.9,-77.0%d\n", i, i)
		}
		before := SettledSize(t, o.DB, o.Ledger)
		stats, err := tel.Import(ctx, telemetryActor, src.Name, csvfile.NewReader(strings.NewReader(b.String()), csvfile.Options{}), store.ImportOptions{FileName: "stop.csv", Format: "csv", StopOnError: true, BatchSize: 10})
		wantCode(t, "stop on error", err, fault.Invalid)
		if err == nil || !strings.Contains(err.Error(), "line 27") {
			t.Errorf("error %v does not name line 27", err)
		}
		// Batches: lines 2–11 and 12–21 committed; 22–26 and the bad line 27
		// not.
		if stats.Read != 26 || stats.Inserted != 20 || stats.Bad != 1 || len(stats.Errors) != 1 || stats.Errors[0].Line != 27 {
			t.Fatalf("stats %+v; want read 26, inserted 20, one bad row at line 27", stats)
		}
		if got := sourcePings(t, o.DB, src.ID); got != 20 {
			t.Errorf("%d pings stored, want the 20 of the two batches before the bad row", got)
		}
		imports, err := tel.Imports(ctx, src.ID)
		if err != nil || len(imports) != 1 || imports[0].Status != store.ImportStopped || imports[0].Inserted != 20 || !strings.Contains(imports[0].Error, "line 27") {
			t.Fatalf("imports %+v, %v; want one, stopped, 20 inserted, naming line 27", imports, err)
		}
		var mine []ledger.Entry
		for _, e := range o.Entries(t, "telemetry.import_started", "telemetry.imported") {
			if e.Subject == fmt.Sprintf("source/%d", src.ID) {
				mine = append(mine, e)
			}
		}
		if len(mine) != 2 || mine[0].Type != "telemetry.import_started" || !dataIs(mine[1], "status", "stopped") ||
			!dataIs(mine[1], "inserted", 20) || !dataIs(mine[1], "stopped_at_line", 27) || !dataIs(mine[1], "stopped_at_field", "lon") {
			t.Errorf("ledger entries %+v; want import_started, then imported: stopped at line 27 (lon) with 20 inserted", mine)
		}
		if after := SettledSize(t, o.DB, o.Ledger); after != before+2 {
			t.Errorf("ledger grew by %d, want 2", after-before)
		}

		t.Run("FirstBatch", func(t *testing.T) {
			// A bad row in the first batch: nothing stored, the attempt
			// recorded.
			src := o.MustLocalSource(t, sys, "local-stop-first")
			csv := "device,time,lat,lon\na,2025-03-01T10:00:00Z,38.9,-77\na,2025-03-01T10:00:00Z,38.9,-200\n"
			_, err := tel.Import(ctx, telemetryActor, src.Name, csvfile.NewReader(strings.NewReader(csv), csvfile.Options{}), store.ImportOptions{FileName: "stop.csv", Format: "csv", StopOnError: true})
			wantCode(t, "stop in the first batch", err, fault.Invalid)
			if got := sourcePings(t, o.DB, src.ID); got != 0 {
				t.Errorf("%d pings stored, want none", got)
			}
			if st, _ := tel.Stats(ctx, src.ID); st.Devices != 0 || st.Imports != 1 {
				t.Errorf("stats %+v; want no device and the import recorded", st)
			}
		})
	})

	t.Run("ErrSource", func(t *testing.T) {
		vendor := o.MustSource(t, sys, "vendor-api")
		local := o.MustLocalSource(t, sys, "local-refused")
		before, size := telemetryCounts(t, o.DB), SettledSize(t, o.DB, o.Ledger)
		good := store.ImportOptions{FileName: "x.csv", Format: "csv"}
		for _, c := range []struct {
			name, source string
			opts         store.ImportOptions
			code         fault.Code
			msg          string
		}{
			{"Unknown", "no-such-source", good, fault.NotFound, "no-such-source"},
			{"Vendor", vendor.Name, good, fault.Precondition, "local_store"},
			{"NoFileName", local.Name, store.ImportOptions{Format: "csv"}, fault.Invalid, "file name"},
			{"Format", local.Name, store.ImportOptions{FileName: "x.kml", Format: "kml"}, fault.Invalid, "format"},
			{"Digest", local.Name, store.ImportOptions{FileName: "x.csv", Format: "csv", SHA256: "abc"}, fault.Invalid, "SHA-256"},
			{"BatchSize", local.Name, store.ImportOptions{FileName: "x.csv", Format: "csv", BatchSize: -1}, fault.Invalid, "batch size"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := tel.Import(ctx, telemetryActor, c.source, NewPingList(genPings(2, 50, 3, start)), c.opts)
				wantCode(t, c.name, err, c.code)
				if err == nil || !strings.Contains(err.Error(), c.msg) {
					t.Errorf("error %v does not mention %q", err, c.msg)
				}
			})
		}
		if after := telemetryCounts(t, o.DB); after != before {
			t.Errorf("rows (pings, devices, imports) %v after refusals, were %v", after, before)
		}
		if after := SettledSize(t, o.DB, o.Ledger); after != size {
			t.Errorf("the ledger grew by %d on refusals", after-size)
		}
	})

	t.Run("ErrInput", func(t *testing.T) {
		src := o.MustLocalSource(t, sys, "local-failed")
		l := NewPingList(genPings(3, 25, 3, start))
		boom := errors.New("disk on fire")
		l.Items = append(l.Items[:15], PingItem{Err: boom})
		stats, err := tel.Import(ctx, telemetryActor, src.Name, l, store.ImportOptions{FileName: "x.csv", Format: "csv", BatchSize: 10})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v, want the input's", err)
		}
		if stats.Inserted+stats.Duplicates != 10 || sourcePings(t, o.DB, src.ID) != stats.Inserted {
			t.Errorf("stats %+v; want the first batch of 10 only", stats)
		}
		if im, _ := tel.Imports(ctx, src.ID); len(im) != 1 || im[0].Status != store.ImportFailed || !strings.Contains(im[0].Error, "disk on fire") {
			t.Errorf("imports %+v; want one, failed, with the cause", im)
		}
	})

	t.Run("ErrCancelled", func(t *testing.T) {
		src := o.MustLocalSource(t, sys, "local-cancelled")
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		in := &cancelAfter{PingList: NewPingList(genPings(4, 40, 3, start)), n: 15, cancel: cancel}
		stats, err := tel.Import(cctx, telemetryActor, src.Name, in, store.ImportOptions{FileName: "x.csv", Format: "csv", BatchSize: 10})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		// The input is read a batch ahead of the commits: the first batch
		// may or may not have committed when the context ended, but never
		// half of one, nor the second.
		if n := stats.Inserted + stats.Duplicates; (n != 0 && n != 10) || sourcePings(t, o.DB, src.ID) != stats.Inserted {
			t.Errorf("stats %+v; want the first batch of 10 or nothing", stats)
		}
		im, _ := tel.Imports(ctx, src.ID)
		entries := o.Entries(t, "telemetry.imported")
		last := entries[len(entries)-1]
		if len(im) != 1 || im[0].Status != store.ImportCancelled || !dataIs(last, "status", "cancelled") || !dataIs(last, "inserted", stats.Inserted) {
			t.Errorf("imports %+v, last entry %+v; want cancelled with the committed count", im, last.Data)
		}
	})

	t.Run("AdaptiveBatches", func(t *testing.T) {
		src := o.MustLocalSource(t, sys, "local-adaptive")
		ps := genPings(5, 20_000, 200, start)
		batches := 0
		stats, err := tel.Import(ctx, telemetryActor, src.Name, NewPingList(ps), store.ImportOptions{FileName: "big.csv", Format: "csv", Progress: func(store.ImportStats) { batches++ }})
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(len(stored(ps))); stats.Inserted != want || sourcePings(t, o.DB, src.ID) != want || batches < 2 {
			t.Errorf("stats %+v in %d batches; want %d inserted in several batches", stats, batches, want)
		}
	})

	t.Run("Search", func(t *testing.T) { testTelemetrySearch(t, o, sys, start) })
}

// cancelAfter cancels a context once n pings have been read.
type cancelAfter struct {
	*PingList
	n      int
	cancel func()
}

func (c *cancelAfter) Next() (ping.Ping, error) {
	if c.next == c.n {
		c.cancel()
	}
	return c.PingList.Next()
}

func testTelemetrySearch(t *testing.T, o *PrivacyOrg, sys privacy.System, start time.Time) {
	ctx := context.Background()
	tel := o.DB.Telemetry()
	src := o.MustLocalSource(t, sys, "local-search")
	other := o.MustLocalSource(t, sys, "local-other")
	ps := genPings(6, 6000, 60, start)
	if _, err := tel.Import(ctx, telemetryActor, src.Name, NewPingList(ps), store.ImportOptions{FileName: "s.csv", Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	// Another source's pings at the same places must never show.
	if _, err := tel.Import(ctx, telemetryActor, other.Name, NewPingList(genPings(7, 2000, 10, start)), store.ImportOptions{FileName: "o.csv", Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	pings := stored(ps)
	conn := tel.Connector(src.ID)
	rng := rand.New(rand.NewPCG(8, 9))
	everything := connector.AreaRequest{From: start.Add(-time.Hour), To: start.AddDate(0, 0, 11), Limit: math.MaxInt}

	type areaCase struct {
		name string
		area *geo.Area
	}
	var areas []areaCase
	for i := range 6 {
		lat := telemetryLat + (rng.Float64()-0.5)*0.03
		lon := telemetryLon + (rng.Float64()-0.5)*0.04
		a, err := geo.NewCircle(lat, lon, 100+rng.Float64()*1400, geo.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		areas = append(areas, areaCase{fmt.Sprintf("circle%d", i), a})
		var ring []string
		for k := range 7 {
			ang := 2 * math.Pi * float64(k) / 7
			r := 0.002 + rng.Float64()*0.008
			ring = append(ring, fmt.Sprintf("[%.6f,%.6f]", lon+r*math.Cos(ang)*1.3, lat+r*math.Sin(ang)))
		}
		ring = append(ring, ring[0])
		a, err = geo.ParseArea([]byte(`{"type":"Polygon","coordinates":[[`+strings.Join(ring, ",")+`]]}`), geo.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		areas = append(areas, areaCase{fmt.Sprintf("polygon%d", i), a})
	}
	// Larger than the exact-cell plan allows: read through covering ranges.
	big, err := geo.NewCircle(telemetryLat, telemetryLon, 5000, geo.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	areas = append(areas, areaCase{"big", big})

	t.Run("AreaSearch", func(t *testing.T) {
		total := 0
		for i, c := range areas {
			// Windows: everything; a random day; one bounded by a stored
			// ping's exact time (included at the start, excluded at the end).
			p := pings[rng.IntN(len(pings))]
			pt := time.UnixMilli(p.ms)
			dayFrom := start.Add(time.Duration(rng.Int64N(int64(9 * 24 * time.Hour))))
			for _, w := range []struct{ from, to time.Time }{
				{everything.From, everything.To}, {dayFrom, dayFrom.Add(24 * time.Hour)},
				{pt, pt.Add(36 * time.Hour)}, {pt.Add(-36 * time.Hour), pt}, {pt.Add(-time.Microsecond), pt.Add(time.Microsecond)},
			} {
				got, err := conn.AreaSearch(ctx, connector.AreaRequest{Area: c.area, From: w.from, To: w.to, Limit: math.MaxInt})
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				want := bruteArea(pings, c.area, w.from, w.to)
				if !slices.Equal(got, want) {
					t.Fatalf("%s %v–%v: got %d devices %v\nwant %d %v", c.name, w.from, w.to, len(got), head(got), len(want), head(want))
				}
				total += len(got)
			}
			if i == len(areas)-1 && total < 50 {
				t.Fatalf("only %d devices found over all searches; the test proves little", total)
			}
		}
	})

	t.Run("Limit", func(t *testing.T) {
		all := bruteArea(pings, big, everything.From, everything.To)
		if len(all) < 10 {
			t.Fatalf("%d devices in the big area", len(all))
		}
		for _, limit := range []int{0, 1, 5, len(all) - 1, len(all), len(all) + 3} {
			r := everything
			r.Area, r.Limit = big, limit
			got, err := conn.AreaSearch(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			want := all[:min(limit+1, len(all))]
			if !slices.Equal(got, want) {
				t.Errorf("limit %d: %d devices %v, want the first %d", limit, len(got), head(got), len(want))
			}
		}
	})

	t.Run("DeviceHistory", func(t *testing.T) {
		for i := range 20 {
			device := fmt.Sprintf("d%03d", rng.IntN(60))
			from := start.Add(time.Duration(rng.Int64N(int64(8 * 24 * time.Hour))))
			to := from.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
			if i == 0 {
				from, to = everything.From, everything.To
			}
			want := bruteHistory(pings, device, from, to)
			got, err := conn.DeviceHistory(ctx, connector.DeviceRequest{Device: device, From: from, To: to, Limit: math.MaxInt})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("history of %s %v–%v: got %d pings, want %d", device, from, to, len(got), len(want))
			}
			if i == 0 {
				if len(want) < 20 {
					t.Fatalf("%s has %d pings in all; the test proves little", device, len(want))
				}
				for _, limit := range []int{0, 3, len(want) - 1, len(want)} {
					got, err := conn.DeviceHistory(ctx, connector.DeviceRequest{Device: device, From: from, To: to, Limit: limit})
					if err != nil || !slices.Equal(got, want[:min(limit+1, len(want))]) {
						t.Errorf("limit %d: %d pings, %v; want the first %d", limit, len(got), err, min(limit+1, len(want)))
					}
				}
			}
		}
		got, err := conn.DeviceHistory(ctx, connector.DeviceRequest{Device: "no-such-device", From: everything.From, To: everything.To, Limit: 10})
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("unknown device: %v, %v; want an empty list", got, err)
		}
		// The other source's devices are not this one's.
		got, err = tel.Connector(other.ID).DeviceHistory(ctx, connector.DeviceRequest{Device: "d050", From: everything.From, To: everything.To, Limit: 10})
		if err != nil || len(got) != 0 {
			t.Errorf("device d050 of another source: %d pings, %v; want none", len(got), err)
		}
	})

	t.Run("ErrRequest", func(t *testing.T) {
		for _, c := range []struct {
			name string
			r    connector.AreaRequest
		}{
			{"NoArea", connector.AreaRequest{From: everything.From, To: everything.To, Limit: 5}},
			{"EmptyWindow", connector.AreaRequest{Area: big, From: everything.To, To: everything.From, Limit: 5}},
			{"NoWindow", connector.AreaRequest{Area: big, Limit: 5}},
			{"NegativeLimit", connector.AreaRequest{Area: big, From: everything.From, To: everything.To, Limit: -1}},
		} {
			if _, err := conn.AreaSearch(ctx, c.r); !errors.Is(err, connector.ErrRejected) {
				t.Errorf("%s: %v, want ErrRejected", c.name, err)
			}
		}
		if _, err := conn.DeviceHistory(ctx, connector.DeviceRequest{From: everything.From, To: everything.To}); !errors.Is(err, connector.ErrRejected) {
			t.Errorf("history without a device: %v, want ErrRejected", err)
		}
	})

	t.Run("ErrContext", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		r := everything
		r.Area = big
		_, err := conn.AreaSearch(cctx, r)
		var ce *connector.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &ce) || ce.Kind != connector.ErrUnavailable {
			t.Errorf("area search with a cancelled context: %v; want ErrUnavailable wrapping context.Canceled", err)
		}
		_, err = conn.DeviceHistory(cctx, connector.DeviceRequest{Device: "d001", From: everything.From, To: everything.To, Limit: 5})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, connector.ErrUnavailable) {
			t.Errorf("device history with a cancelled context: %v", err)
		}
	})
}

// dataIs reports whether an entry's data value k prints as want does.
func dataIs(e ledger.Entry, k string, want any) bool {
	v, ok := e.Data[k]
	return ok && fmt.Sprint(v) == fmt.Sprint(want)
}

func head[T any](s []T) []T { return s[:min(len(s), 3)] }
