package synth

import (
	"encoding/hex"
	"math"
	"sort"
	"strconv"
	"time"
)

// metresPerDegree is one degree of latitude on the sphere of the WGS84 mean
// radius, the sphere internal/geo measures on.
const metresPerDegree = 6371008.8 * math.Pi / 180

// vec is a position in metres east (x) and north (y) of the city's centre.
// Over a city the equirectangular projection this implies is accurate to a
// fraction of a percent.
type vec struct{ x, y float64 }

func (a vec) add(b vec) vec        { return vec{a.x + b.x, a.y + b.y} }
func (a vec) sub(b vec) vec        { return vec{a.x - b.x, a.y - b.y} }
func (a vec) scale(k float64) vec  { return vec{a.x * k, a.y * k} }
func (a vec) dist(b vec) float64   { return math.Hypot(a.x-b.x, a.y-b.y) }
func polar(r, angle float64) vec   { s, c := math.Sincos(angle); return vec{r * c, r * s} }
func lerp(a, b vec, t float64) vec { return vec{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t} }
func (r *rng) disc(radius float64) vec {
	return polar(radius*math.Sqrt(r.float()), 2*math.Pi*r.float())
}

type kind uint8

const (
	kHome kind = iota
	kOffice
	kFacility
	kShop
	kRestaurant
	kGym
	kPark
	kSchool
	kWorship
	kClinic
	kHospital
	kShelter
	kCourt
	numKinds
)

type place struct {
	kind   kind
	pos    vec
	radius float64
	// A facility's grounds: a rectangle of half-sides hw, hh turned by the
	// angle whose cosine and sine are cs, sn.
	hw, hh, cs, sn float64
}

// hood is a residential neighborhood: homes scatter around c.
type hood struct {
	c      vec
	sigma  float64
	weight float64
}

// person is a device and the routine its owner follows.
type person struct {
	ident     string
	profile   Profile
	household int
	home      int // place index
	homeSpot  vec
	work      int // place index, -1 for none
	workSpot  vec
	employee  bool
	role      int // 1 analyst, 2 coworker of the scenario
	sparse    bool
	noisy     bool

	workStart, workLen float64 // hours; for night shifts the shift's start and its end the next morning
	worksSat           bool
	teleDay            int   // weekday teleworked, -1 for none
	shiftNights        uint8 // bit w set: a night shift starts on weekday w's evening
	lunchP             float64
	lunch              int // place index, -1 for none
	shops              [3]int
	restaurant, park   int
	doctor             int
	gym                int // -1 for none
	gymDays            uint8
	gymMorning         bool
	worship            int // -1 for none
	worshipDay         time.Weekday
	worshipAt          float64
	friends            [2]int // homes, -1 for none
	car                bool
	wake               float64
	offP               float64

	activity  float64 // multiplies ping rates
	trackP    float64 // chance that a trip is densely tracked
	heartbeat float64 // seconds between background pings, 0 for none
	ios       bool
	decimals  float64 // 10^k: coordinates are rounded to k decimals
	wrong     vec     // noisy devices: where misplaced fixes land, relative to the true spot
}

// City is a generated city. It is immutable and safe for concurrent use;
// each [Stream] is for one goroutine.
type City struct {
	cfg                            Config
	lat0, lon0, mLat, mLon, half   float64
	minLat, minLon, maxLat, maxLon float64
	margin                         float64

	dayStart   []int64 // Days+1 local midnights, Unix seconds
	dayUniform []bool  // no change of UTC offset during the day
	weekday    []time.Weekday

	hoods    []hood
	hoodCum  []float64
	places   []place
	byKind   [numKinds][]int
	facPlace []int
	facLunch map[int][]int // restaurants around each facility, by place index

	facilities   []Facility
	employees    []Employee
	sensitive    []SensitivePlace
	persons      []person
	devices      []Device
	byIdent      map[string]int
	scenario     Scenario
	coworker     int // person index of B
	coworkerHome int // place index of B's home
}

// New builds the city cfg describes. An invalid cfg is a [fault.Invalid]
// error saying what to change.
func New(cfg Config) (*City, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &City{cfg: cfg}
	c.half = cfg.RadiusKm * 1000
	c.lat0, c.lon0 = cfg.CenterLat, cfg.CenterLon
	c.mLat = metresPerDegree
	c.mLon = metresPerDegree * math.Cos(cfg.CenterLat*math.Pi/180)
	c.minLat, c.maxLat = c.lat0-c.half/c.mLat, c.lat0+c.half/c.mLat
	c.minLon, c.maxLon = c.lon0-c.half/c.mLon, c.lon0+c.half/c.mLon
	c.margin = math.Min(500, c.half*0.05)

	y, m, d := cfg.Start.In(cfg.Location).Date()
	for i := 0; i <= cfg.Days; i++ {
		t := time.Date(y, m, d+i, 0, 0, 0, 0, cfg.Location)
		c.dayStart = append(c.dayStart, t.Unix())
		c.weekday = append(c.weekday, t.Weekday())
	}
	for i := 0; i < cfg.Days; i++ {
		t := time.Unix(c.dayStart[i], 0).In(cfg.Location)
		_, off0 := t.Zone()
		_, off1 := t.Add(12 * time.Hour).Zone()
		c.dayUniform = append(c.dayUniform, c.dayStart[i+1]-c.dayStart[i] == 86400 && off0 == off1)
	}

	r := newRNG(cfg.Seed, streamCity)
	c.placeHoods(&r)
	c.placeFacilities(&r)
	c.placeAmenities(&r)
	c.placeHouseholds(&r)
	for i := range c.persons {
		c.assignRoutine(&r, &c.persons[i])
	}
	c.shuffleAndName(&r)
	c.planScenario(&r)
	return c, nil
}

func (c *City) point(v vec) Point {
	return Point{Lat: c.lat0 + v.y/c.mLat, Lon: c.lon0 + v.x/c.mLon}
}

func (c *City) inside(v vec, margin float64) bool {
	lim := c.half - margin
	return math.Abs(v.x) <= lim && math.Abs(v.y) <= lim
}

func (c *City) clamp(v vec, margin float64) vec {
	lim := c.half - margin
	return vec{math.Max(-lim, math.Min(lim, v.x)), math.Max(-lim, math.Min(lim, v.y))}
}

// near returns a point scattered normally around centre, inside the city.
func (c *City) near(r *rng, centre vec, sigma float64) vec {
	for range 20 {
		v := vec{centre.x + sigma*r.norm(), centre.y + sigma*r.norm()}
		if c.inside(v, c.margin) {
			return v
		}
	}
	return c.clamp(centre, c.margin)
}

func (c *City) anywhere(r *rng) vec {
	lim := c.half - c.margin
	return vec{r.uniform(-lim, lim), r.uniform(-lim, lim)}
}

func (c *City) pickHood(r *rng) *hood {
	u := r.float() * c.hoodCum[len(c.hoodCum)-1]
	i := sort.SearchFloat64s(c.hoodCum, u)
	return &c.hoods[min(i, len(c.hoods)-1)]
}

func (c *City) inHood(r *rng, spread float64) vec {
	h := c.pickHood(r)
	return c.near(r, h.c, h.sigma*spread)
}

func (c *City) addPlace(k kind, pos vec, radius float64) int {
	c.places = append(c.places, place{kind: k, pos: pos, radius: radius})
	i := len(c.places) - 1
	c.byKind[k] = append(c.byKind[k], i)
	return i
}

func (c *City) placeHoods(r *rng) {
	n := int(math.Round(60 * (c.half / 15000) * (c.half / 15000)))
	n = max(4, min(n, 5000))
	var cum float64
	for range n {
		var p vec
		if r.chance(0.55) {
			p = c.near(r, vec{}, 0.35*c.half)
		} else {
			p = c.anywhere(r)
		}
		central := 1 + 1.5*math.Exp(-(p.x*p.x+p.y*p.y)/(2*0.4*c.half*0.4*c.half))
		w := r.lognormal(0, 0.6) * central
		cum += w
		c.hoods = append(c.hoods, hood{c: p, sigma: c.half * r.uniform(0.025, 0.06), weight: w})
		c.hoodCum = append(c.hoodCum, cum)
	}
}

// The agency facilities: name, position in units of the half side, the
// half-sides of the grounds in metres, and the share of employees.
var facilityPlan = []struct {
	name   string
	dx, dy float64
	hw, hh float64
	share  float64
}{
	{"Washington Field Office", 0.10, 0.06, 110, 75, 0.40},
	{"Component Headquarters", 0.30, -0.22, 200, 140, 0.30},
	{"Northern Virginia Resident Office", -0.45, -0.30, 90, 60, 0.15},
	{"Maryland Resident Office", 0.35, 0.50, 80, 60, 0.15},
}

func (c *City) placeFacilities(r *rng) {
	for i, f := range facilityPlan {
		pos := c.clamp(vec{f.dx*c.half + 0.02*c.half*r.norm(), f.dy*c.half + 0.02*c.half*r.norm()}, c.margin+300)
		angle := r.uniform(-0.3, 0.3)
		sn, cs := math.Sincos(angle)
		radius := math.Ceil(math.Hypot(f.hw, f.hh)) + 10
		k := c.addPlace(kFacility, pos, radius)
		pl := &c.places[k]
		pl.hw, pl.hh, pl.cs, pl.sn = f.hw, f.hh, cs, sn
		c.facPlace = append(c.facPlace, k)
		var ring []Point
		for _, corner := range [][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}, {-1, -1}} {
			ring = append(ring, c.point(pl.local(corner[0]*f.hw, corner[1]*f.hh)))
		}
		c.facilities = append(c.facilities, Facility{
			ID: "fac-" + strconv.Itoa(i+1), Name: f.name, Center: c.point(pos), Polygon: ring, RadiusM: radius,
		})
	}
}

// local returns the point at (u, v) metres in a facility's own frame.
func (p *place) local(u, v float64) vec {
	return vec{p.pos.x + u*p.cs - v*p.sn, p.pos.y + u*p.sn + v*p.cs}
}

// spot returns where in place p a person settles.
func (p *place) spot(r *rng) vec {
	if p.kind == kFacility {
		return p.local(r.uniform(-0.8, 0.8)*p.hw, r.uniform(-0.8, 0.8)*p.hh)
	}
	return p.pos.add(r.disc(p.radius * 0.6))
}

func (c *City) placeAmenities(r *rng) {
	D := c.cfg.Devices
	downtown := c.near(r, vec{}, 0.02*c.half)
	var parks [4]vec
	for i := range parks {
		parks[i] = c.clamp(polar(c.half*r.uniform(0.3, 0.7), r.uniform(0, 2*math.Pi)), c.margin)
	}
	for range max(10, D/8) {
		var p vec
		switch u := r.float(); {
		case u < 0.4:
			p = c.near(r, downtown, 0.08*c.half)
		case u < 0.7:
			p = c.near(r, parks[r.intn(len(parks))], 0.03*c.half)
		default:
			p = c.inHood(r, 1.3)
		}
		c.addPlace(kOffice, p, r.uniform(30, 120))
	}
	for range max(12, D/8) {
		p := c.inHood(r, 1.3)
		if r.chance(0.2) {
			p = c.near(r, downtown, 0.1*c.half)
		}
		c.addPlace(kShop, p, r.uniform(25, 80))
	}
	for range max(8, D/12) {
		var p vec
		switch u := r.float(); {
		case u < 0.5:
			p = c.inHood(r, 1.3)
		case u < 0.9:
			p = c.near(r, downtown, 0.08*c.half)
		default:
			p = c.anywhere(r)
		}
		c.addPlace(kRestaurant, p, r.uniform(15, 40))
	}
	c.facLunch = map[int][]int{}
	for _, k := range c.facPlace {
		for range 4 {
			p := c.clamp(c.places[k].pos.add(polar(r.uniform(250, 700), r.uniform(0, 2*math.Pi))), c.margin)
			c.facLunch[k] = append(c.facLunch[k], c.addPlace(kRestaurant, p, r.uniform(15, 40)))
		}
	}
	for range max(3, D/60) {
		c.addPlace(kGym, c.inHood(r, 1.3), r.uniform(25, 60))
	}
	for range max(3, D/100) {
		p := c.anywhere(r)
		if r.chance(0.5) {
			p = c.inHood(r, 1.5)
		}
		c.addPlace(kPark, p, r.uniform(100, 300))
	}

	// Sensitive places, named as they are placed.
	var nm namer
	sensitive := func(k kind, cat Category, kinds []string, pos vec, radius float64) {
		c.addPlace(k, pos, radius)
		c.sensitive = append(c.sensitive, SensitivePlace{
			ID:       "sp-" + pad4(len(c.sensitive)+1),
			Category: cat,
			Name:     nm.name(r, nameWords, kinds),
			Center:   c.point(pos),
			RadiusM:  math.Round(radius),
		})
	}
	for range max(3, D/30) {
		sensitive(kSchool, School, schoolKinds, c.inHood(r, 1.2), r.uniform(60, 150))
	}
	for range max(3, D/25) {
		sensitive(kWorship, PlaceOfWorship, worshipKinds, c.inHood(r, 1.2), r.uniform(20, 70))
	}
	for range max(3, D/60) {
		p := c.inHood(r, 1.3)
		if r.chance(0.4) {
			p = c.near(r, downtown, 0.1*c.half)
		}
		sensitive(kClinic, Medical, clinicKinds, p, r.uniform(20, 60))
	}
	for range max(1, D/1000) {
		sensitive(kHospital, Medical, hospitalKinds, c.near(r, downtown, 0.3*c.half), r.uniform(150, 250))
	}
	for range max(1, D/700) {
		sensitive(kShelter, Shelter, shelterKinds, c.near(r, downtown, 0.25*c.half), r.uniform(25, 50))
	}
	for range max(1, D/1500) {
		sensitive(kCourt, Court, courtKinds, c.near(r, downtown, 0.06*c.half), r.uniform(50, 100))
	}
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// placeHouseholds creates homes and the people living in them: first one
// household per employee (the analyst's, then the coworker's, who lives
// alone), then shelter residents, then everyone else.
func (c *City) placeHouseholds(r *rng) {
	D, E := c.cfg.Devices, c.cfg.Employees
	S := 0 // shelter residents
	if D-E >= 50 {
		S = min(D/500, D-E)
	}
	c.persons = make([]person, 0, D)
	var coworkerHome vec
	c.coworkerHome = c.placeHome(r, 1, &coworkerHome)
	sizes := []float64{0.45, 0.33, 0.14, 0.08}
	for h, created := 0, 0; created < D; h++ {
		isEmployee := h < E
		isShelter := !isEmployee && h < E+S
		size := 1 + r.pick(sizes)
		// Keep a device for every employee and shelter household to come.
		size = min(size, D-created-max(0, E+S-h-1))
		if h == 1 || isShelter {
			size = 1
		}
		var home int
		switch {
		case isShelter:
			home = c.randomOf(r, kShelter)
		case h == 1:
			home = c.coworkerHome
		default:
			home = c.placeHome(r, h, &coworkerHome)
		}
		for k := range size {
			p := person{household: h, home: home, work: -1, teleDay: -1, lunch: -1, gym: -1, worship: -1, friends: [2]int{-1, -1}}
			switch {
			case k == 0 && isEmployee:
				p.profile, p.employee = Commuter, true
				if h <= 1 {
					p.role = h + 1
				}
			case k >= 2:
				p.profile = Student
			case isShelter:
				p.profile = [...]Profile{HomeBased, Commuter}[r.pick([]float64{0.8, 0.2})]
			default:
				p.profile = [...]Profile{Commuter, HomeBased, NightShift}[r.pick([]float64{0.70, 0.25, 0.05})]
			}
			c.persons = append(c.persons, p)
		}
		created += size
	}
}

// placeHome adds the home of household h. The coworker's (h = 1) goes to
// the busiest neighborhood; the analyst's (h = 0) at least 3 km from it
// where the city allows; no other home comes within 80 m of it.
func (c *City) placeHome(r *rng, h int, coworkerHome *vec) int {
	var p vec
	if h == 1 {
		best := &c.hoods[0]
		for i := range c.hoods {
			if c.hoods[i].weight > best.weight {
				best = &c.hoods[i]
			}
		}
		// Away from shelters, where other devices sleep.
		for try := 0; try < 50; try++ {
			p = c.near(r, best.c, best.sigma*0.5)
			clear := true
			for _, s := range c.byKind[kShelter] {
				clear = clear && c.places[s].pos.dist(p) >= 150
			}
			if clear {
				break
			}
		}
		*coworkerHome = p
	} else {
		far := 0.0
		if h == 0 {
			far = math.Min(3000, c.half*0.4)
		}
		for try := 0; ; try++ {
			p = c.inHood(r, 1)
			d := p.dist(*coworkerHome)
			if d >= math.Max(80, far) {
				break
			}
			if try >= 50 {
				if d < 80 {
					dir := p.sub(*coworkerHome)
					if d < 1e-3 {
						dir, d = vec{1, 0}, 1
					}
					p = c.clamp(coworkerHome.add(dir.scale(90/d)), c.margin)
				}
				break
			}
		}
	}
	return c.addPlace(kHome, p, r.uniform(10, 25))
}

// nearestOf returns, of n places of kind k drawn at random, the one nearest
// to v; -1 when there is none.
func (c *City) nearestOf(r *rng, k kind, v vec, n int) int {
	list := c.byKind[k]
	if len(list) == 0 {
		return -1
	}
	best, bestD := -1, math.Inf(1)
	for range n {
		i := list[r.intn(len(list))]
		if d := c.places[i].pos.dist(v); d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

func (c *City) randomOf(r *rng, k kind) int {
	list := c.byKind[k]
	return list[r.intn(len(list))]
}

func (c *City) assignRoutine(r *rng, p *person) {
	home := &c.places[p.home]
	p.homeSpot = home.pos.add(r.disc(math.Min(home.radius*0.6, 12)))
	switch p.profile {
	case Commuter:
		switch {
		case p.employee:
			share := make([]float64, len(facilityPlan))
			for i, f := range facilityPlan {
				share[i] = f.share
			}
			f := r.pick(share)
			if p.role != 0 {
				f = 0
			}
			p.work = c.facPlace[f]
			p.workStart, p.workLen = r.uniform(6.75, 9.25), r.uniform(8.25, 9.5)
			if r.chance(0.25) {
				p.teleDay = 1 + r.intn(5)
			}
			p.lunchP = r.uniform(0.05, 0.35)
		case r.chance(0.75):
			if r.chance(0.7) {
				p.work = c.randomOf(r, kOffice)
			} else {
				p.work = c.nearestOf(r, kOffice, home.pos, 8)
			}
			p.workStart, p.workLen = r.uniform(7, 9.75), r.uniform(7.5, 9.5)
			p.worksSat = r.chance(0.12)
			p.lunchP = r.uniform(0, 0.5)
		default:
			k := [...]kind{kShop, kRestaurant, kSchool, kClinic, kHospital, kGym}[r.pick([]float64{0.35, 0.25, 0.15, 0.1, 0.1, 0.05})]
			p.work = c.randomOf(r, k)
			p.workStart, p.workLen = r.uniform(7, 11), r.uniform(7.5, 9.5)
			p.worksSat = r.chance(0.35)
			p.lunchP = r.uniform(0, 0.3)
		}
	case NightShift:
		if r.chance(0.6) {
			p.work = c.randomOf(r, kHospital)
		} else {
			p.work = c.randomOf(r, kOffice)
		}
		p.workStart, p.workLen = r.uniform(21.5, 23), r.uniform(6, 7.5)
		first := r.intn(7)
		for i := range 5 {
			p.shiftNights |= 1 << ((first + i) % 7)
		}
	case Student:
		p.work = c.nearestOf(r, kSchool, home.pos, 6)
		p.workStart = r.uniform(7.5, 8.5)
		p.workLen = r.uniform(14.5, 15.5) - p.workStart
	}
	if p.work >= 0 {
		p.workSpot = c.places[p.work].spot(r)
		if p.profile == Commuter && p.lunchP > 0 {
			// The nearest of a sample, and of the restaurants placed
			// around a facility for its staff.
			best := c.nearestOf(r, kRestaurant, p.workSpot, 40)
			for _, i := range c.facLunch[p.work] {
				if c.places[i].pos.dist(p.workSpot) < c.places[best].pos.dist(p.workSpot) {
					best = i
				}
			}
			if c.places[best].pos.dist(p.workSpot) <= 1200 {
				p.lunch = best
			}
		}
	}
	for i := range p.shops {
		p.shops[i] = c.nearestOf(r, kShop, home.pos, 4)
	}
	p.restaurant = c.nearestOf(r, kRestaurant, home.pos, 4)
	p.park = c.nearestOf(r, kPark, home.pos, 3)
	p.doctor = c.nearestOf(r, kClinic, home.pos, 3)
	if r.chance(0.3) {
		p.gym = c.nearestOf(r, kGym, home.pos, 3)
		for range 2 + r.intn(2) {
			p.gymDays |= 1 << r.intn(7)
		}
		p.gymMorning = r.chance(0.4)
	}
	if r.chance(0.35) {
		p.worship = c.nearestOf(r, kWorship, home.pos, 5)
		switch u := r.float(); {
		case u < 0.7:
			p.worshipDay, p.worshipAt = time.Sunday, r.uniform(8.5, 11)
		case u < 0.85:
			p.worshipDay, p.worshipAt = time.Saturday, r.uniform(9, 11)
		default:
			p.worshipDay, p.worshipAt = time.Friday, r.uniform(12.5, 13.5)
		}
	}
	homes := c.byKind[kHome]
	for i := range p.friends {
		f := homes[r.intn(len(homes))]
		if f != p.home && f != c.coworkerHome {
			p.friends[i] = f
		}
	}
	p.car = p.profile != Student && r.chance(0.72)
	p.wake = r.uniform(8.5, 10.5)
	p.offP = 0.04
	if p.profile == Student {
		p.offP = 0.03
	}

	p.activity = r.lognormal(-0.18, 0.6)
	p.trackP = r.uniform(0.1, 0.7)
	if r.chance(0.3) {
		p.heartbeat = r.uniform(15, 60) * 60
	}
	p.ios = r.chance(0.45)
	p.decimals = [...]float64{1e5, 1e6, 1e7}[r.pick([]float64{0.1, 0.4, 0.5})]
	p.sparse = r.chance(c.cfg.SparseFraction)
	p.noisy = r.chance(c.cfg.NoisyFraction)
	p.wrong = polar(r.uniform(500, 3000), r.uniform(0, 2*math.Pi))
	if p.role != 0 {
		// The scenario's devices are ordinary, reliable phones; the
		// coworker's pings through the night.
		p.sparse, p.noisy = false, false
		p.activity = math.Max(p.activity, 1)
		if p.role == 2 {
			p.heartbeat = 20 * 60
		}
	}
}

// shuffleAndName puts the devices in a random order, gives them their
// advertising IDs, numbers households and employees in that order, and
// builds the public views.
func (c *City) shuffleAndName(r *rng) {
	perm := make([]int, len(c.persons))
	for i := range perm {
		perm[i] = i
	}
	for i := len(perm) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	shuffled := make([]person, len(c.persons))
	for i, j := range perm {
		shuffled[i] = c.persons[j]
	}
	c.persons = shuffled

	ir := newRNG(c.cfg.Seed, streamIdents)
	c.byIdent = make(map[string]int, len(c.persons))
	householdID := map[int]string{}
	var nm namer
	for i := range c.persons {
		p := &c.persons[i]
		for {
			p.ident = advertisingID(&ir)
			if _, dup := c.byIdent[p.ident]; !dup {
				break
			}
		}
		c.byIdent[p.ident] = i
		hh, ok := householdID[p.household]
		if !ok {
			hh = "hh-" + pad4(len(householdID)+1)
			householdID[p.household] = hh
		}
		d := Device{
			Ident: p.ident, Profile: p.profile, Household: hh, Home: c.point(c.places[p.home].pos),
			Sparse: p.sparse, Noisy: p.noisy,
		}
		if p.work >= 0 {
			d.Work, d.HasWork = c.point(c.places[p.work].pos), true
		}
		if p.employee {
			d.Employee = "emp-" + pad4(len(c.employees)+1)
			fac := 0
			for k, pl := range c.facPlace {
				if pl == p.work {
					fac = k
				}
			}
			c.employees = append(c.employees, Employee{
				ID: d.Employee, Name: nm.name(r, firstNames, lastNames), Facility: c.facilities[fac].ID,
				Device: p.ident, Home: d.Home,
			})
		}
		if p.role == 2 {
			c.coworker = i
		}
		c.devices = append(c.devices, d)
	}
}

// advertisingID returns a random UUID in version 4 form, as mobile
// advertising IDs are.
func advertisingID(r *rng) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		x := r.uint64()
		for k := range 8 {
			b[i+k] = byte(x >> (8 * k))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func (c *City) planScenario(r *rng) {
	var analyst, coworker Employee
	for _, e := range c.employees {
		switch c.persons[c.byIdent[e.Device]].role {
		case 1:
			analyst = e
		case 2:
			coworker = e
		}
	}
	b := &c.persons[c.coworker]
	home := c.places[b.home].pos
	centre := home.add(polar(r.uniform(60, 150), r.uniform(0, 2*math.Pi)))
	const radius = 400
	var ring []Point
	start := r.uniform(0, 2*math.Pi)
	for k := range 8 {
		a := start + float64(k)*math.Pi/4 + r.uniform(-1, 1)*math.Pi/18
		ring = append(ring, c.point(centre.add(polar(radius*r.uniform(0.85, 1.1), a))))
	}
	ring = append(ring, ring[0])

	night := c.cfg.Days / 2
	for d := 1; d < c.cfg.Days; d++ {
		if w := c.weekday[d]; w >= time.Tuesday && w <= time.Thursday {
			night = d
			break
		}
	}
	c.scenario = Scenario{
		Facility:            c.facilities[0],
		Analyst:             analyst,
		Coworker:            coworker,
		CoworkerHome:        c.point(home),
		CoworkerDevice:      b.ident,
		NightStart:          time.Unix(c.localTime(night, 1), 0).UTC(),
		NightEnd:            time.Unix(c.localTime(night, 5), 0).UTC(),
		Neighborhood:        Circle{Center: c.point(centre), RadiusM: radius},
		NeighborhoodPolygon: ring,
	}
}

// localTime returns the Unix time of hour h (fractional, 0 ≤ h ≤ 24) of
// local day d.
func (c *City) localTime(d int, h float64) int64 {
	sec := int64(h * 3600)
	if c.dayUniform[d] {
		return c.dayStart[d] + sec
	}
	t := time.Unix(c.dayStart[d], 0).In(c.cfg.Location)
	y, m, dd := t.Date()
	u := time.Date(y, m, dd, 0, 0, int(sec), 0, c.cfg.Location).Unix()
	return max(c.dayStart[d], min(u, c.dayStart[d+1]))
}
