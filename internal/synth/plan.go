package synth

import (
	"math"
	"time"
)

// leg is a stretch of a device's day: a stay at a spot, or a trip along a
// path of up to four points.
type leg struct {
	trip   bool
	t0, t1 int64 // Unix seconds; t0 < t1 for trips, t0 ≤ t1 for stays
	spot   vec   // a stay's position

	path   [4]vec
	cum    [4]float64 // path length up to each point
	n      int
	wobble float64 // depth of the stop-and-go slow-downs, in [0, 1)
	stops  float64 // how many
	walk   bool
}

// pos returns where a trip is at time t.
func (l *leg) pos(t float64) vec {
	u := (t - float64(l.t0)) / float64(l.t1-l.t0)
	u = math.Max(0, math.Min(1, u))
	k := 2 * math.Pi * l.stops
	s := (u - l.wobble*math.Sin(k*u)/k) * l.cum[l.n-1]
	for i := 1; i < l.n; i++ {
		if s <= l.cum[i] || i == l.n-1 {
			seg := l.cum[i] - l.cum[i-1]
			if seg <= 0 {
				return l.path[i]
			}
			return lerp(l.path[i-1], l.path[i], math.Min(1, (s-l.cum[i-1])/seg))
		}
	}
	return l.path[l.n-1]
}

// Planning. The planner works in local hours of the current day and turns
// them into Unix seconds with at. Everyone but night workers must be home
// by latest.
const latest = 23.5

func (g *gen) at(h float64) int64 { return g.c.localTime(g.day, math.Max(0, math.Min(24, h))) }

// jitter returns a normal deviate in hours with the given spread in minutes.
func (g *gen) jitter(sdMinutes float64) float64 { return g.r.norm() * sdMinutes / 60 }

func (g *gen) minutes(a, b float64) int64 { return int64(g.r.uniform(a, b) * 60) }

// route builds the trip from a to b, without times, and returns it with its
// duration in seconds.
func (g *gen) route(a, b vec) (leg, int64) {
	l := leg{trip: true}
	d := a.dist(b)
	walk := d < 900 || (!g.p.car && d < 1600)
	l.path[0] = a
	switch {
	case d < 1:
		l.path[1], l.n = b, 2
	case !walk && g.p.car && d > 4000:
		// Out along a street, a diagonal arterial, in along a street.
		f1, f2 := g.r.uniform(0.05, 0.2), g.r.uniform(0.8, 0.95)
		l.path[1] = vec{a.x, a.y + f1*(b.y-a.y)}
		l.path[2] = vec{b.x, a.y + f2*(b.y-a.y)}
		l.path[3], l.n = b, 4
	default:
		// Two right-angle turns, as on a street grid.
		f := g.r.uniform(0.2, 0.8)
		if g.r.chance(0.5) {
			l.path[1] = vec{a.x, a.y + f*(b.y-a.y)}
			l.path[2] = vec{b.x, l.path[1].y}
		} else {
			l.path[1] = vec{a.x + f*(b.x-a.x), a.y}
			l.path[2] = vec{l.path[1].x, b.y}
		}
		l.path[3], l.n = b, 4
	}
	for i := 1; i < l.n; i++ {
		l.cum[i] = l.cum[i-1] + l.path[i-1].dist(l.path[i])
	}
	length := l.cum[l.n-1]
	var dur float64
	switch {
	case walk:
		l.walk = true
		dur = length / g.r.uniform(1.15, 1.5)
		l.wobble, l.stops = 0.15, math.Max(1, math.Round(length/400))
	case g.p.car:
		dur = length/((7+7*math.Min(1, d/12000))*g.r.uniform(0.85, 1.15)) + g.r.uniform(60, 240)
		l.wobble, l.stops = 0.7, math.Max(1, math.Round(length/1500))
	default: // bus or metro, with the walk and the wait
		dur = length/((4+3*math.Min(1, d/10000))*g.r.uniform(0.85, 1.15)) + g.r.uniform(120, 600)
		l.wobble, l.stops = 0.8, math.Max(1, math.Round(length/800))
	}
	return l, max(60, int64(dur))
}

// estimate is a generous guess of the travel time from a to b, in seconds,
// for deciding whether an outing fits in the day.
func (g *gen) estimate(a, b vec) int64 {
	d := 1.4 * a.dist(b)
	switch {
	case d < 1200:
		return int64(d/1.2) + 120
	case g.p.car:
		return int64(d/6) + 400
	}
	return int64(d/4) + 700
}

// goTo ends the current stay at depart (at the earliest a minute from now),
// travels to spot in place pl and returns the arrival time. With arrive set,
// depart is when to arrive instead. No trip ends after the day does.
func (g *gen) goTo(pl int, spot vec, when int64, arrive bool) int64 {
	tr, dur := g.route(g.spot, spot)
	depart := when
	if arrive {
		depart -= dur
	}
	end := g.c.dayStart[g.day+1] - 60
	depart = max(depart, g.t+60)
	if depart+dur > end {
		depart = max(g.t+1, end-dur)
		dur = max(1, min(dur, end-depart))
	}
	g.legs = append(g.legs, leg{t0: g.t, t1: depart, spot: g.spot})
	tr.t0, tr.t1 = depart, depart+dur
	g.legs = append(g.legs, tr)
	g.t, g.cur, g.spot = tr.t1, pl, spot
	return g.t
}

// fits reports whether leaving at depart for place pl, staying stay
// seconds and going home ends by the latest hour.
func (g *gen) fits(depart int64, pl int, stay int64) bool {
	to := g.c.places[pl].pos
	end := max(depart, g.t) + g.estimate(g.spot, to) + stay + g.estimate(to, g.p.homeSpot)
	return end <= g.at(latest)
}

// visit goes to place pl at depart (or arriving then), stays stay seconds
// and reports whether it did; it does nothing when the outing does not fit.
func (g *gen) visit(pl int, when int64, arrive bool, stay int64) bool {
	if pl < 0 {
		return false
	}
	depart := when
	if arrive {
		depart -= g.estimate(g.spot, g.c.places[pl].pos)
	}
	if !g.fits(depart, pl, stay) {
		return false
	}
	spot := g.c.places[pl].spot(&g.r)
	g.goTo(pl, spot, when, arrive)
	g.leave = g.t + stay
	return true
}

func (g *gen) goHome(depart int64) {
	if g.cur != g.p.home || g.spot != g.p.homeSpot {
		g.goTo(g.p.home, g.p.homeSpot, depart, false)
	}
}

func (g *gen) goWork(arrive int64) {
	g.goTo(g.p.work, g.p.workSpot, arrive, true)
}

// planDay lays out the current day's legs.
func (g *gen) planDay() {
	g.legs = g.legs[:0]
	g.t = g.c.dayStart[g.day]
	p := g.p
	wd := g.c.weekday[g.day]
	weekend := wd == time.Saturday || wd == time.Sunday
	off := g.r.chance(p.offP)
	switch {
	case p.profile == NightShift:
		g.planNight(wd, off)
	case weekend && !(p.worksSat && wd == time.Saturday && !off):
		g.planFree(wd, true)
	case p.profile == HomeBased || off || p.work < 0 || p.teleDay == int(wd):
		g.planFree(wd, false)
	default:
		g.planWorkday(wd)
	}
	if p.profile != NightShift || g.cur != p.work {
		g.goHome(max(g.t+60, g.leave))
	}
	g.legs = append(g.legs, leg{t0: g.t, t1: g.c.dayStart[g.day+1], spot: g.spot})
}

func (g *gen) planWorkday(wd time.Weekday) {
	p := g.p
	student := p.profile == Student
	start := p.workStart + g.jitter(12)
	if student {
		start = p.workStart + g.jitter(4)
	}
	if !student && p.gym >= 0 && p.gymMorning && p.gymDays&(1<<wd) != 0 {
		g.visit(p.gym, g.at(start-1.6+g.jitter(10)), true, g.minutes(55, 75))
	}
	g.goWork(g.at(start))
	if !student {
		switch {
		case p.worship >= 0 && p.worshipDay == wd && wd == time.Friday:
			if g.visit(p.worship, g.at(p.worshipAt+g.jitter(5)), true, g.minutes(40, 60)) {
				g.goTo(p.work, p.workSpot, g.leave, false)
			}
		case g.r.chance(0.015):
			if g.visit(p.doctor, g.at(g.r.uniform(9.5, 15)), false, g.minutes(40, 90)) {
				g.goTo(p.work, p.workSpot, g.leave, false)
			}
		case p.lunch >= 0 && g.r.chance(p.lunchP):
			if g.visit(p.lunch, g.at(g.r.uniform(11.75, 12.75)), false, g.minutes(25, 50)) {
				g.goTo(p.work, p.workSpot, g.leave, false)
			}
		}
	}
	g.leave = g.at(start + p.workLen + g.jitter(20))
	if student {
		g.leave = g.at(start + p.workLen + g.jitter(5))
	}
	switch {
	case student && g.r.chance(0.35):
		g.errand(g.leave, true)
	case !student && p.gym >= 0 && !p.gymMorning && p.gymDays&(1<<wd) != 0:
		g.visit(p.gym, g.leave, false, g.minutes(60, 90))
	case !student && g.r.chance(0.35):
		g.visit(p.shops[g.r.intn(len(p.shops))], g.leave, false, g.minutes(15, 40))
	}
	g.goHome(g.leave)
	g.evening(0.12)
}

// errand makes one outing of the free kind at depart.
func (g *gen) errand(depart int64, young bool) bool {
	p := g.p
	var pl int
	var stay int64
	switch k := g.r.pick([]float64{0.4, 0.15, 0.17, 0.1, 0.12, 0.02}); {
	case young && k == 0 || k == 2:
		pl, stay = p.park, g.minutes(45, 150)
	case k == 0:
		pl, stay = p.shops[g.r.intn(len(p.shops))], g.minutes(15, 45)
	case k == 1:
		pl, stay = p.restaurant, g.minutes(45, 90)
	case k == 3:
		pl, stay = p.gym, g.minutes(60, 90)
		if pl < 0 {
			pl = p.shops[0]
		}
	case k == 4:
		pl, stay = p.friends[g.r.intn(len(p.friends))], g.minutes(60, 180)
	default:
		pl, stay = p.doctor, g.minutes(40, 90)
	}
	return g.visit(pl, depart, false, stay)
}

func (g *gen) planFree(wd time.Weekday, weekend bool) {
	p := g.p
	first := g.r.uniform(8.5, 10.5)
	switch {
	case weekend:
		first = p.wake + g.jitter(30)
	case p.teleDay == int(wd):
		first = p.workStart + p.workLen + g.jitter(20) // errands after work
	}
	depart := g.at(first)
	if p.worship >= 0 && p.worshipDay == wd {
		stay := g.minutes(60, 120)
		if wd == time.Friday {
			stay = g.minutes(40, 60)
		}
		if g.visit(p.worship, g.at(p.worshipAt+g.jitter(5)), true, stay) {
			depart = g.leave
			if g.r.chance(0.6) {
				g.goHome(g.leave)
				depart = g.t + g.minutes(30, 120)
			}
		}
	}
	n := 1 + g.r.intn(3)
	switch {
	case !weekend && p.profile == HomeBased:
		n = g.r.intn(4)
	case !weekend:
		n = g.r.intn(2)
	}
	for range n {
		if depart > g.at(19) || !g.errand(depart, p.profile == Student) {
			break
		}
		depart = g.leave
		if g.r.chance(0.6) {
			g.goHome(g.leave)
			depart = g.t + g.minutes(20, 150)
		}
	}
	g.goHome(max(g.t+60, g.leave))
	if p.profile == HomeBased && g.r.chance(0.03) {
		g.visit(p.doctor, max(g.t+600, g.at(g.r.uniform(10, 15))), false, g.minutes(40, 90))
		g.goHome(g.leave)
	}
	share := 0.1
	if wd == time.Friday || wd == time.Saturday {
		share = 0.3
	}
	g.evening(share)
}

// evening makes, with the given chance, an evening outing from home to a
// restaurant, a friend's home or a shop.
func (g *gen) evening(chance float64) {
	if !g.r.chance(chance) || g.t > g.at(20.5) {
		return
	}
	p := g.p
	depart := max(g.t+g.minutes(30, 90), g.at(g.r.uniform(18.5, 20.5)))
	pl, stay := p.restaurant, g.minutes(60, 150)
	switch u := g.r.float(); {
	case u < 0.3:
		pl = p.friends[g.r.intn(len(p.friends))]
	case u < 0.5:
		pl, stay = p.shops[g.r.intn(len(p.shops))], g.minutes(15, 40)
	}
	if g.visit(pl, depart, false, stay) {
		g.goHome(g.leave)
	}
}

// planNight is a night worker's day: home from the shift in the morning,
// asleep, perhaps an errand, off to the next shift in the evening.
func (g *gen) planNight(wd time.Weekday, off bool) {
	p := g.p
	if g.cur == p.work {
		g.goHome(g.at(p.workLen + g.jitter(10)))
	}
	if g.r.chance(0.4) {
		g.errand(max(g.t+3600, g.at(g.r.uniform(14, 16.5))), false)
		g.goHome(g.leave)
	}
	if p.shiftNights&(1<<wd) != 0 && !off {
		g.goWork(g.at(p.workStart + g.jitter(10)))
	}
}
