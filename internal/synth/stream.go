package synth

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/probity-dev/probity/internal/importer/ping"
)

// Stream yields a city's pings, one device-day at a time. It is not safe
// for concurrent use.
type Stream struct {
	g        gen
	dev, end int // current device, one past the last
	day      int // next day to generate for dev
	i        int // next ping of g.buf
	line     int
}

func (c *City) newStream(from, to int) *Stream {
	return &Stream{g: gen{c: c}, dev: from, end: to}
}

// Next returns the next ping, or io.EOF after the last. Line counts the
// pings of the stream from 1.
func (s *Stream) Next() (ping.Ping, error) {
	for s.i >= len(s.g.buf) {
		if s.dev >= s.end {
			return ping.Ping{}, io.EOF
		}
		if s.day == 0 {
			s.g.start(s.dev)
		}
		s.g.generateDay(s.day)
		s.i = 0
		if s.day++; s.day == s.g.c.cfg.Days {
			s.day, s.dev = 0, s.dev+1
		}
	}
	p := s.g.buf[s.i]
	s.i++
	s.line++
	p.Line = s.line
	return p, nil
}

// WriteCSV writes the rest of the stream to w as CSV with the header
// device,time,lat,lon,accuracy (time in RFC 3339, UTC), the columns the CSV
// importer reads by default, and returns how many pings it wrote.
func (s *Stream) WriteCSV(w io.Writer) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("device,time,lat,lon,accuracy\n"); err != nil {
		return 0, err
	}
	var line []byte
	n := 0
	for {
		p, err := s.Next()
		if err == io.EOF {
			return n, bw.Flush()
		}
		if err != nil {
			return n, err
		}
		line = append(line[:0], p.Device...)
		line = append(line, ',')
		line = p.Time.AppendFormat(line, time.RFC3339)
		line = append(line, ',')
		line = strconv.AppendFloat(line, p.Lat, 'f', -1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, p.Lon, 'f', -1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, p.AccuracyM, 'f', -1, 64)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return n, err
		}
		n++
	}
}

// gen generates one device's pings day by day. Its random stream depends
// only on the seed and the device's index.
type gen struct {
	c *City
	p *person
	r rng

	legs  []leg
	buf   []ping.Ping
	times []int64

	day   int
	cur   int   // place where the planned legs end
	spot  vec   // and the spot there
	t     int64 // when the device got there
	leave int64 // when the last visit means to leave

	act    float64 // ping-rate multiplier
	last   int64   // time of the last ping
	nextHB float64 // next background ping, for devices that have them
}

func (g *gen) start(dev int) {
	c := g.c
	p := &c.persons[dev]
	g.p = p
	g.r = newRNG(c.cfg.Seed, streamDevice+uint64(dev))
	g.cur, g.spot = p.home, p.homeSpot
	if p.profile == NightShift && p.shiftNights&(1<<((c.weekday[0]+6)%7)) != 0 {
		g.cur, g.spot = p.work, p.workSpot // on the shift that began the evening before
	}
	g.act = p.activity
	if p.sparse {
		g.act *= 0.06
	}
	g.last = 0
	g.nextHB = float64(c.dayStart[0]) + g.r.uniform(0, math.Max(p.heartbeat, 1))
}

func (g *gen) generateDay(d int) {
	g.day = d
	g.buf = g.buf[:0]
	g.planDay()
	if g.p.sparse && g.r.chance(0.5) {
		return // a silent day: the app was not used
	}
	for i := range g.legs {
		l := &g.legs[i]
		if l.t1 <= l.t0 {
			continue
		}
		g.times = g.times[:0]
		if l.trip {
			g.tripTimes(l)
		} else {
			g.background(l.t0, l.t1)
		}
		if g.p.heartbeat > 0 && !g.p.sparse {
			for g.nextHB < float64(l.t1) {
				if g.nextHB >= float64(l.t0) {
					g.times = append(g.times, int64(g.nextHB))
				}
				g.nextHB += g.p.heartbeat * g.r.uniform(0.8, 1.2)
			}
		}
		slices.Sort(g.times)
		for _, t := range g.times {
			if l.trip {
				g.emit(t, l.pos(float64(t)), true)
			} else {
				g.emit(t, l.spot, false)
			}
		}
	}
}

// background adds the pings of an idle phone over [t0, t1): a Poisson
// process, thinner at night, with short bursts when an app opens.
func (g *gen) background(t0, t1 int64) {
	t, end := float64(t0), float64(t1)
	dayStart := float64(g.c.dayStart[g.day])
	for {
		h := (t - dayStart) / 3600
		gap := 55 * 60.0
		if h < 7 || h >= 23 {
			gap = 150 * 60
		}
		t += g.r.exp() * gap / g.act
		if t >= end {
			return
		}
		g.times = append(g.times, int64(t))
		if g.r.chance(0.2) {
			for k := 1 + g.r.intn(4); k > 0; k-- {
				t += g.r.uniform(3, 40)
				if t >= end {
					return
				}
				g.times = append(g.times, int64(t))
			}
		}
	}
}

// tripTimes adds a trip's pings: a dense run with pauses when the SDK
// tracks the trip, otherwise the idle process and perhaps a ping on leaving
// and on arriving. Walks, which trigger fewer significant-change updates,
// are tracked less often and less densely.
func (g *gen) tripTimes(l *leg) {
	track, median := g.p.trackP, 35.0
	if l.walk {
		track, median = track*0.4, 60
	}
	if g.p.sparse {
		track *= 0.15
	}
	t0, t1 := float64(l.t0), float64(l.t1)
	if g.r.chance(track) {
		for t := t0 + g.r.uniform(0, 60); t < t1; {
			g.times = append(g.times, int64(t))
			gap := math.Max(3, math.Min(300, g.r.lognormal(math.Log(median), 0.8)))
			if g.r.chance(0.03) {
				gap += g.r.uniform(120, 480)
			}
			t += gap
		}
		return
	}
	if g.r.chance(0.35) {
		g.times = append(g.times, int64(math.Min(t1-1, t0+g.r.uniform(5, 90))))
	}
	g.background(l.t0, l.t1)
	if g.r.chance(0.35) {
		g.times = append(g.times, int64(math.Max(t0, t1-g.r.uniform(5, 90))))
	}
}

// iosAccuracies are the horizontal accuracies iOS typically reports.
var iosAccuracies = []float64{5, 10, 16, 30, 35, 48, 65, 100, 165, 200, 414, 1000, 1414}

// emit records a fix of the device at pos at time t.
func (g *gen) emit(t int64, pos vec, moving bool) {
	c, p := g.c, g.p
	if t <= g.last {
		t = g.last + 1
	}
	if t >= c.dayStart[len(c.dayStart)-1] {
		return
	}
	acc := g.accuracy(moving)
	if p.noisy && !moving && g.r.chance(0.03) {
		// A fix from a Wi-Fi database that places the access point
		// elsewhere, reported as precise.
		pos, acc = pos.add(p.wrong), g.r.uniform(15, 40)
	}
	sigma := acc / 1.51 // 68 % of fixes within acc
	var e vec
	for try := 0; ; try++ {
		e = vec{pos.x + sigma*g.r.norm(), pos.y + sigma*g.r.norm()}
		if c.inside(e, 2) {
			break
		}
		if try == 4 {
			e = c.clamp(e, 2)
			break
		}
	}
	pt := c.point(e)
	reported := math.Round(acc*10) / 10
	if p.ios {
		reported = iosAccuracies[len(iosAccuracies)-1]
		for _, a := range iosAccuracies {
			if acc <= a*1.2 {
				reported = a
				break
			}
		}
	}
	g.buf = append(g.buf, ping.Ping{
		Device:    p.ident,
		Time:      time.Unix(t, 0).UTC(),
		Lat:       math.Round(pt.Lat*p.decimals) / p.decimals,
		Lon:       math.Round(pt.Lon*p.decimals) / p.decimals,
		AccuracyM: reported,
	})
	g.last = t
}

// accuracy draws the true accuracy of a fix in metres: mostly GPS on the
// move, mostly Wi-Fi indoors, sometimes a cell tower.
func (g *gen) accuracy(moving bool) float64 {
	cell, scale := 0.03, 1.0
	if g.p.noisy {
		cell, scale = 0.12, 2
	}
	u := g.r.float()
	switch {
	case moving && u < cell/2, !moving && u < cell:
		return g.r.uniform(300, 1500)
	case moving && u < 0.85:
		return scale * math.Max(2, math.Min(40, g.r.lognormal(math.Log(6), 0.5)))
	case moving:
		return g.r.uniform(15, 80)
	case u < cell+0.2:
		return scale * g.r.uniform(4, 20)
	}
	return scale * math.Max(8, math.Min(100, g.r.lognormal(math.Log(28), 0.4)))
}
