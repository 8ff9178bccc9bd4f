package places

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/probity-dev/probity/internal/geo"
)

// The screening benchmark: 100,000 protected zones over a 2° × 2° region
// around New York (about 37,000 km², a state's worth of points of
// interest, as dense as New York City's sensitive places): nine in ten
// circles of 50 to 400 m, one in ten polygons of 6 to 12 corners about 100
// to 450 m across; and 1,000,000 pings, as query results hold them: 1,000
// devices' tracks of 1,000 pings each, in time order, wandering around a
// home in steps of about 100 m and now and then going to a place (a zone's
// neighbourhood) or across the region.
const (
	benchZones   = 100_000
	benchPings   = 1_000_000
	benchDevices = 1_000
)

type benchPing struct{ lat, lon float64 }

// benchAreasBytes is the heap the zones' areas take, measured as
// benchData makes them.
var benchAreasBytes uint64

var benchData = sync.OnceValues(func() ([]Zone, []benchPing) {
	rng := rand.New(rand.NewPCG(100_000, 1_000_000))
	before := heapInUse()
	zones := make([]Zone, benchZones)
	for i := range zones {
		lat, lon := 40+2*rng.Float64(), -75+2*rng.Float64()
		var a *geo.Area
		var err error
		if i%10 == 9 {
			a, err = geo.ParseArea([]byte(starPolygon(rng, lat, lon, 0.001+0.003*rng.Float64(), 6+rng.IntN(7))), geo.Limits{})
		} else {
			a, err = geo.NewCircle(lat, lon, 50*math.Pow(8, rng.Float64()), geo.Limits{})
		}
		if err != nil {
			panic(err)
		}
		zones[i] = Zone{ID: int64(i + 1), Category: School, Area: a}
	}
	benchAreasBytes = heapInUse() - before
	pings := make([]benchPing, 0, benchPings)
	const step = 0.001 // degrees, about 100 m
	for range benchDevices {
		homeLat, homeLon := 40+2*rng.Float64(), -75+2*rng.Float64()
		lat, lon := homeLat, homeLon
		for range benchPings / benchDevices {
			switch r := rng.Float64(); {
			case r < 0.02: // to a place
				minLat, minLon, maxLat, maxLon := zones[rng.IntN(len(zones))].Area.Bounds()
				lat, lon = minLat+(maxLat-minLat)*rng.Float64(), minLon+(maxLon-minLon)*rng.Float64()
			case r < 0.03: // home again
				lat, lon = homeLat, homeLon
			case r < 0.035: // across the region
				lat, lon = 40+2*rng.Float64(), -75+2*rng.Float64()
			default:
				lat = min(max(lat+step*rng.NormFloat64(), 40), 42)
				lon = min(max(lon+step*rng.NormFloat64(), -75), -73)
			}
			pings = append(pings, benchPing{lat, lon})
		}
	}
	return zones, pings
})

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkIndexBuild builds the grid over 100,000 zones and reports its
// memory: index-MiB as the index counts itself ([Index.Bytes]), heap-MiB as
// the live heap grew (both without the zones' areas, which the places
// hold anyway), and areas-MiB for those areas.
func BenchmarkIndexBuild(b *testing.B) {
	zones, _ := benchData()
	areas := benchAreasBytes
	var ix *Index
	var heap uint64
	for b.Loop() {
		ix = nil
		start := heapInUse()
		var err error
		if ix, err = NewIndex(zones); err != nil {
			b.Fatal(err)
		}
		heap = heapInUse() - start
	}
	st := ix.Stats()
	b.ReportMetric(float64(ix.Bytes())/(1<<20), "index-MiB")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(areas)/(1<<20), "areas-MiB")
	b.ReportMetric(float64(st.Items)/float64(st.Cells), "zones/cell")
	b.ReportMetric(float64(st.MaxPerCell), "max-zones/cell")
}

// BenchmarkScreen screens 1,000,000 pings against 100,000 zones on one
// goroutine (run it with -cpu 1): an operation is every ping, and
// pings/s the rate (pings/cpu-s per second of the process's CPU time, for
// a busy machine). "tracks" takes the pings in the order results hold
// them; "shuffled" takes the same pings in random order, the worst case
// for the processor's caches. "grid" looks each ping up with [Index.At],
// "grid-batch" all of them with [Index.Screen]. The grid is measured
// against a simple R-tree (STR bulk-loaded, 16 entries a node) answering
// the same question with the same exact tests; all must flag the same
// (ping, zone) pairs.
func BenchmarkScreen(b *testing.B) {
	zones, tracks := benchData()
	ix, err := NewIndex(zones)
	if err != nil {
		b.Fatal(err)
	}
	rt := newRTree(zones)
	shuffled := slices.Clone(tracks)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	want := -1
	for _, order := range []struct {
		name  string
		pings []benchPing
	}{{"tracks", tracks}, {"shuffled", shuffled}} {
		for _, impl := range []struct {
			name string
			at   func(lat, lon float64, dst []int32) []int32
		}{{"grid", ix.At}, {"rtree", rt.at}} {
			b.Run(order.name+"/"+impl.name, func(b *testing.B) {
				pings := order.pings
				var dst []int32
				hits := 0
				cpu := cpuTime()
				for b.Loop() {
					hits = 0
					for _, p := range pings {
						dst = impl.at(p.lat, p.lon, dst[:0])
						hits += len(dst)
					}
				}
				cpu = cpuTime() - cpu
				if want < 0 {
					want = hits
				} else if hits != want {
					b.Fatalf("%s flags %d (ping, zone) pairs, the grid %d", impl.name, hits, want)
				}
				if hits < benchPings/20 {
					b.Fatalf("only %d (ping, zone) pairs flagged: the benchmark says little", hits)
				}
				b.ReportMetric(float64(len(pings))*float64(b.N)/b.Elapsed().Seconds(), "pings/s")
				if cpu > 0 {
					b.ReportMetric(float64(len(pings))*float64(b.N)/cpu.Seconds(), "pings/cpu-s")
				}
				b.ReportMetric(float64(hits)/float64(len(pings)), "hits/ping")
			})
		}
		b.Run(order.name+"/grid-batch", func(b *testing.B) {
			pts := make([]Point, len(order.pings))
			for i, p := range order.pings {
				pts[i] = Point{p.lat, p.lon}
			}
			var dst []Hit
			cpu := cpuTime()
			for b.Loop() {
				dst = ix.Screen(pts, dst[:0])
			}
			cpu = cpuTime() - cpu
			if want < 0 {
				want = len(dst)
			} else if len(dst) != want {
				b.Fatalf("Screen flags %d (ping, zone) pairs, At %d", len(dst), want)
			}
			b.ReportMetric(float64(len(pts))*float64(b.N)/b.Elapsed().Seconds(), "pings/s")
			if cpu > 0 {
				b.ReportMetric(float64(len(pts))*float64(b.N)/cpu.Seconds(), "pings/cpu-s")
			}
			b.ReportMetric(float64(len(dst))/float64(len(pts)), "hits/ping")
		})
	}
}

// BenchmarkTouching screens a typical query area — a 1 km² circle — and a
// 100 km² one against the zones and against 10,000 employees' homes:
// what the detectors add to a query.
func BenchmarkTouching(b *testing.B) {
	zones, _ := benchData()
	ix, err := NewIndex(zones)
	if err != nil {
		b.Fatal(err)
	}
	key := mustHomeKey(b)
	rng := rand.New(rand.NewPCG(10, 20))
	homes := make([]Home, 10_000)
	for i := range homes {
		cells, err := key.HomeCells(40+2*rng.Float64(), -75+2*rng.Float64(), DefaultHomeRadiusM)
		if err != nil {
			b.Fatal(err)
		}
		homes[i] = Home{PersonID: int64(i + 1), Cells: cells}
	}
	hix := NewHomeIndex(key, homes)
	for _, size := range []struct {
		name    string
		radiusM float64
	}{{"1km2", 564}, {"100km2", 5642}} {
		areas := make([]*geo.Area, 256)
		for i := range areas {
			areas[i] = mustCircle(b, 40.2+1.6*rng.Float64(), -74.8+1.6*rng.Float64(), size.radiusM)
		}
		b.Run("zones/"+size.name, func(b *testing.B) {
			var dst []int32
			i := 0
			for b.Loop() {
				dst = ix.Touching(areas[i%len(areas)], dst[:0])
				i++
			}
		})
		b.Run("homes/"+size.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := hix.Touching(areas[i%len(areas)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("homes/ping", func(b *testing.B) {
		i := 0
		for b.Loop() {
			hix.At(40+2*float64(i%1000)/1000, -75+2*float64(i%997)/997)
			i++
		}
	})
}

// rtree is a simple static R-tree over the zones' bounding boxes: leaves
// and nodes of up to rtreeFan entries, bulk-loaded by Sort-Tile-Recursive,
// for comparison with the grid.
type rtree struct {
	boxes []box
	nodes []rnode
	root  int32
}

const rtreeFan = 16

type rnode struct {
	minLat, maxLat, minLon, maxLon float64
	leaf                           bool
	children                       []int32 // zone numbers in a leaf, node numbers otherwise
}

func newRTree(zones []Zone) *rtree {
	t := &rtree{boxes: make([]box, len(zones))}
	entries := make([]rnode, len(zones))
	for i, z := range zones {
		minLat, minLon, maxLat, maxLon := z.Area.Bounds()
		t.boxes[i] = box{minLat: minLat, maxLat: maxLat, minLon: minLon, maxLon: maxLon, area: z.Area}
		entries[i] = rnode{minLat: minLat, maxLat: maxLat, minLon: minLon, maxLon: maxLon, children: []int32{int32(i)}}
	}
	leaf := true
	for {
		// STR: sort by longitude centre, cut into vertical slices of about
		// √(n/fan) nodes each, sort each slice by latitude centre, pack.
		n := len(entries)
		nodes := (n + rtreeFan - 1) / rtreeFan
		slices := int(math.Ceil(math.Sqrt(float64(nodes))))
		sort.Slice(entries, func(i, j int) bool {
			return entries[i].minLon+entries[i].maxLon < entries[j].minLon+entries[j].maxLon
		})
		per := slices * rtreeFan
		var level []int32
		for s := 0; s < n; s += per {
			sl := entries[s:min(s+per, n)]
			sort.Slice(sl, func(i, j int) bool { return sl[i].minLat+sl[i].maxLat < sl[j].minLat+sl[j].maxLat })
			for k := 0; k < len(sl); k += rtreeFan {
				group := sl[k:min(k+rtreeFan, len(sl))]
				nd := rnode{minLat: math.Inf(1), maxLat: math.Inf(-1), minLon: math.Inf(1), maxLon: math.Inf(-1), leaf: leaf}
				for _, e := range group {
					nd.minLat, nd.maxLat = math.Min(nd.minLat, e.minLat), math.Max(nd.maxLat, e.maxLat)
					nd.minLon, nd.maxLon = math.Min(nd.minLon, e.minLon), math.Max(nd.maxLon, e.maxLon)
					nd.children = append(nd.children, e.children...)
				}
				if !leaf {
					nd.children = nd.children[:0]
					for _, e := range group {
						nd.children = append(nd.children, e.children[0])
					}
				}
				t.nodes = append(t.nodes, nd)
				level = append(level, int32(len(t.nodes)-1))
			}
		}
		if len(level) == 1 {
			t.root = level[0]
			return t
		}
		// The next level's entries stand for the nodes just made.
		entries = entries[:0]
		for _, id := range level {
			nd := t.nodes[id]
			entries = append(entries, rnode{minLat: nd.minLat, maxLat: nd.maxLat, minLon: nd.minLon, maxLon: nd.maxLon, children: []int32{id}})
		}
		leaf = false
	}
}

// at appends the zones holding the point, in increasing order.
func (t *rtree) at(lat, lon float64, dst []int32) []int32 {
	n := len(dst)
	var stack [64]int32
	sp := 0
	stack[sp] = t.root
	sp++
	for sp > 0 {
		sp--
		nd := &t.nodes[stack[sp]]
		if lat < nd.minLat || lat > nd.maxLat || lon < nd.minLon || lon > nd.maxLon {
			continue
		}
		if nd.leaf {
			for _, z := range nd.children {
				if t.boxes[z].contains(lat, lon) {
					dst = append(dst, z)
				}
			}
			continue
		}
		for _, c := range nd.children {
			stack[sp] = c
			sp++
		}
	}
	slices.Sort(dst[n:])
	return dst
}

// TestRTree checks the benchmark's R-tree against the grid, so that the
// comparison is between two correct answers.
func TestRTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	zs := testZones(t, rng, 2000)
	ix, err := NewIndex(zs)
	if err != nil {
		t.Fatal(err)
	}
	rt := newRTree(zs)
	hits := 0
	for range 20_000 {
		lat, lon := 40.4+1.2*rng.Float64(), -74.6+1.2*rng.Float64()
		got, want := rt.at(lat, lon, nil), ix.At(lat, lon, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("R-tree at %v, %v = %v, grid %v", lat, lon, got, want)
		}
		hits += len(want)
	}
	if hits < 20_000 {
		t.Errorf("%d hits", hits)
	}
}
