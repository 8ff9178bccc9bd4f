package places

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/probity-dev/probity/internal/geo"
)

// A Zone is one entry of an [Index]: an area, and what a detector reports
// when a query touches it.
type Zone struct {
	ID        int64 // the place's ID
	Category  Category
	Component string
	Name      string
	Area      *geo.Area
}

// An Index answers which zones hold a point and which zones an area
// touches. It is immutable and safe for concurrent use.
//
// It is a two-level uniform grid in compressed-sparse-row layout. The top
// level divides the globe into 1° × 1° tiles; each tile that holds zones
// has a grid of its own over the zones' bounding box, with about four
// cells per zone (fewer where zones are large), so that a cell lists one
// or two zones wherever zones are dense, and a sparse tile costs little.
// A point's lookup reads its tile, its cell's offsets and the cell's list,
// where each zone's bounding box (rounded outwards to float32) sits beside
// its number; only a zone whose box holds the point is tested exactly: a
// circle by the haversine distance, as [geo.Area.Contains] computes it
// (deferring to it within a billionth of the radius), a polygonal area by
// [geo.Area.Contains] itself. The answers are those of geo.Area.Contains,
// boundaries included. Zones that span more than four tiles are kept
// apart in a short list tested for every point.
type Index struct {
	zones  []Zone
	boxes  []box   // per zone: its bounding box and area
	tileOf []int32 // per 1° tile (row-major from 90° S, 180° W): the tile's number, or -1
	tiles  []tile
	start  []uint32 // cell c of the grid lists items[start[c]:start[c+1]]
	items  []entry  // the cells' zones
	recs   []rec    // per zone: what its exact test needs
	wide   []int32  // zones in no tile's grid, tested for every point
}

// box is a zone's bounding box in degrees and its area.
type box struct {
	minLat, maxLat, minLon, maxLon float64
	area                           *geo.Area
}

func (b *box) contains(lat, lon float64) bool {
	return lat >= b.minLat && lat <= b.maxLat && lon >= b.minLon && lon <= b.maxLon && b.area.Contains(lat, lon)
}

// entry is a zone as a cell lists it: its number and its bounding box,
// rounded outwards to float32, so that a cell's list is a short run of
// memory and most points that miss every zone read nothing else.
type entry struct {
	minLat, maxLat, minLon, maxLon float32
	zone                           int32
}

// down and up round a float64 to a float32 no greater (no less).
func down(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func up(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}

// rec is what the exact test of a zone needs: its bounding box and, for
// a circle, the haversine test's terms (havR < 0 for a polygonal area).
// It is 64 bytes, a cache line.
type rec struct {
	minLat, maxLat, minLon, maxLon float64
	lat0, lon0, cosLat0, havR      float64
}

// newRec returns the record of a zone.
func newRec(b *box) rec {
	r := rec{minLat: b.minLat, maxLat: b.maxLat, minLon: b.minLon, maxLon: b.maxLon, havR: -1}
	if lat, lon, radius, ok := b.area.Circle(); ok {
		const rad = math.Pi / 180
		s := math.Sin(math.Min(radius/1000/geo.EarthRadiusKm, math.Pi) / 2)
		r.lat0, r.lon0, r.cosLat0, r.havR = lat, lon, math.Cos(lat*rad), s*s
	}
	return r
}

// havBand is the relative margin around a circle's haversine within which
// the index's own computation defers to [geo.Area.Contains]: the two
// computations agree to a few units in the last place, so outside the
// band the index decides exactly as the area would.
const havBand = 1e-9

// contains reports whether zone z holds the point; cosLat is cos(lat) in
// radians, computed when first needed (NaN until then).
func (ix *Index) contains(z int32, lat, lon float64, cosLat *float64) bool {
	r := &ix.recs[z]
	if !(lat >= r.minLat && lat <= r.maxLat && lon >= r.minLon && lon <= r.maxLon) {
		return false
	}
	if r.havR < 0 {
		return ix.zones[z].Area.Contains(lat, lon)
	}
	const rad = math.Pi / 180
	if *cosLat != *cosLat {
		*cosLat = math.Cos(lat * rad)
	}
	sdLat := math.Sin((lat - r.lat0) * rad / 2)
	sdLon := math.Sin((lon - r.lon0) * rad / 2)
	h := sdLat*sdLat + r.cosLat0**cosLat*sdLon*sdLon
	switch {
	case h < r.havR*(1-havBand):
		return true
	case h > r.havR*(1+havBand):
		return false
	}
	return ix.zones[z].Area.Contains(lat, lon)
}

// scan appends the zones of cell c that hold the point.
func (ix *Index) scan(c uint32, lat, lon float64, dst []int32) []int32 {
	lat32, lon32 := float32(lat), float32(lon)
	cosLat := math.NaN()
	es := ix.items[ix.start[c]:ix.start[c+1]]
	for i := range es {
		e := &es[i]
		// float32(lat) is within the rounded box whenever lat is within
		// the exact one (rounding is monotonic).
		if lat32 >= e.minLat && lat32 <= e.maxLat && lon32 >= e.minLon && lon32 <= e.maxLon && ix.contains(e.zone, lat, lon, &cosLat) {
			dst = append(dst, e.zone)
		}
	}
	return dst
}

// tile is the grid of one 1° tile.
type tile struct {
	lat0, lon0     float64 // south-west corner of the grid
	invLat, invLon float64 // cells per degree
	nlat, nlon     int32
	base           uint32 // number of the tile's first cell
}

const (
	tileRows = 180
	tileCols = 360
	// maxZoneTiles is the most tiles a zone may span and still be gridded.
	maxZoneTiles = 4
	// maxTileSide bounds a tile's grid, in cells a side.
	maxTileSide = 1024
)

func tileRow(lat float64) int { return min(max(int(lat+90), 0), tileRows-1) }
func tileCol(lon float64) int { return min(max(int(lon+180), 0), tileCols-1) }

// cell returns the tile's cell of the point, clamped into the grid. The
// computation is monotonic in each coordinate, so a point of a zone's
// bounding box always falls in a cell between those of the box's
// corners, where the zone is listed.
func (t *tile) cell(lat, lon float64) uint32 {
	return t.base + uint32(gridStep(lat, t.lat0, t.invLat, t.nlat)*t.nlon+gridStep(lon, t.lon0, t.invLon, t.nlon))
}

// gridStep returns the row (column) of coordinate v in a grid starting at
// v0 with inv cells per degree and n rows, clamped to [0, n-1].
func gridStep(v, v0, inv float64, n int32) int32 {
	f := math.Floor(math.Min(math.Max((v-v0)*inv, -1), float64(n)))
	return min(max(int32(f), 0), n-1)
}

// cellRange returns the rows and columns of the tile's cells a bounding
// box overlaps.
func (t *tile) cellRange(minLat, maxLat, minLon, maxLon float64) (y0, y1, x0, x1 int32) {
	return gridStep(minLat, t.lat0, t.invLat, t.nlat), gridStep(maxLat, t.lat0, t.invLat, t.nlat),
		gridStep(minLon, t.lon0, t.invLon, t.nlon), gridStep(maxLon, t.lon0, t.invLon, t.nlon)
}

// NewIndex builds the index of zones. Zone numbers in the answers are
// positions in zones.
func NewIndex(zones []Zone) (*Index, error) {
	if len(zones) > math.MaxInt32 {
		return nil, errors.New("places: too many zones")
	}
	ix := &Index{zones: slices.Clone(zones), boxes: make([]box, len(zones)), tileOf: make([]int32, tileRows*tileCols)}
	for i := range ix.tileOf {
		ix.tileOf[i] = -1
	}
	byTile := map[int][]int32{}
	for i, z := range zones {
		if z.Area == nil {
			return nil, fmt.Errorf("places: zone %d (place %d) has no area", i, z.ID)
		}
		minLat, minLon, maxLat, maxLon := z.Area.Bounds()
		ix.boxes[i] = box{minLat: minLat, maxLat: maxLat, minLon: minLon, maxLon: maxLon, area: z.Area}
		r0, r1, c0, c1 := tileRow(minLat), tileRow(maxLat), tileCol(minLon), tileCol(maxLon)
		if (r1-r0+1)*(c1-c0+1) > maxZoneTiles {
			ix.wide = append(ix.wide, int32(i))
			continue
		}
		for r := r0; r <= r1; r++ {
			for c := c0; c <= c1; c++ {
				byTile[r*tileCols+c] = append(byTile[r*tileCols+c], int32(i))
			}
		}
	}
	keys := make([]int, 0, len(byTile))
	for k := range byTile {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var counts []uint32 // per cell, then turned into start offsets
	for _, k := range keys {
		t := ix.gridTile(k, byTile[k])
		t.base = uint32(len(counts))
		ix.tileOf[k] = int32(len(ix.tiles))
		ix.tiles = append(ix.tiles, t)
		counts = append(counts, make([]uint32, int(t.nlat)*int(t.nlon))...)
		for _, z := range byTile[k] {
			b := &ix.boxes[z]
			y0, y1, x0, x1 := t.cellRange(b.minLat, b.maxLat, b.minLon, b.maxLon)
			for y := y0; y <= y1; y++ {
				for x := x0; x <= x1; x++ {
					counts[t.base+uint32(y*t.nlon+x)]++
				}
			}
		}
	}
	ix.recs = make([]rec, len(zones))
	for i := range ix.boxes {
		ix.recs[i] = newRec(&ix.boxes[i])
	}
	ix.start = make([]uint32, len(counts)+1)
	var sum uint64
	for c, n := range counts {
		ix.start[c] = uint32(sum)
		sum += uint64(n)
	}
	if sum > math.MaxUint32 {
		return nil, errors.New("places: the zones are too large to index")
	}
	ix.start[len(counts)] = uint32(sum)
	ix.items = make([]entry, sum)
	fill := counts // reused as the next free slot of each cell
	copy(fill, ix.start[:len(counts)])
	for _, k := range keys {
		t := &ix.tiles[ix.tileOf[k]]
		for _, z := range byTile[k] {
			b := &ix.boxes[z]
			y0, y1, x0, x1 := t.cellRange(b.minLat, b.maxLat, b.minLon, b.maxLon)
			for y := y0; y <= y1; y++ {
				for x := x0; x <= x1; x++ {
					c := t.base + uint32(y*t.nlon+x)
					ix.items[fill[c]] = entry{minLat: down(b.minLat), maxLat: up(b.maxLat), minLon: down(b.minLon), maxLon: up(b.maxLon), zone: z}
					fill[c]++
				}
			}
		}
	}
	return ix, nil
}

// gridTile sizes the grid of tile k for its zones: about four cells per
// zone over the zones' bounding box within the tile, in roughly square
// cells, made coarser while the zones would be listed in more than 16
// cells each on average.
func (ix *Index) gridTile(k int, zones []int32) tile {
	tLat0, tLon0 := float64(k/tileCols-90), float64(k%tileCols-180)
	minLat, maxLat, minLon, maxLon := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, z := range zones {
		b := &ix.boxes[z]
		minLat, maxLat = math.Min(minLat, b.minLat), math.Max(maxLat, b.maxLat)
		minLon, maxLon = math.Min(minLon, b.minLon), math.Max(maxLon, b.maxLon)
	}
	minLat, maxLat = math.Max(minLat, tLat0), math.Min(maxLat, tLat0+1)
	minLon, maxLon = math.Max(minLon, tLon0), math.Min(maxLon, tLon0+1)
	h := math.Max(maxLat-minLat, 1e-7)
	w := math.Max(maxLon-minLon, 1e-7)
	wm := w * math.Max(math.Cos((minLat+maxLat)/2*math.Pi/180), 0.01) // width in latitude degrees
	side := math.Sqrt(h * wm / float64(4*len(zones)))
	nlat := int32(min(max(math.Ceil(h/side), 1), maxTileSide))
	nlon := int32(min(max(math.Ceil(wm/side), 1), maxTileSide))
	for {
		t := tile{lat0: minLat, lon0: minLon, invLat: float64(nlat) / h, invLon: float64(nlon) / w, nlat: nlat, nlon: nlon}
		if nlat == 1 && nlon == 1 {
			return t
		}
		var items int
		for _, z := range zones {
			b := &ix.boxes[z]
			y0, y1, x0, x1 := t.cellRange(b.minLat, b.maxLat, b.minLon, b.maxLon)
			items += int(y1-y0+1) * int(x1-x0+1)
		}
		if items <= 16*len(zones)+1024 {
			return t
		}
		nlat, nlon = (nlat+1)/2, (nlon+1)/2
	}
}

// Len returns the number of zones.
func (ix *Index) Len() int { return len(ix.zones) }

// Zone returns zone number i.
func (ix *Index) Zone(i int32) Zone { return ix.zones[i] }

// At appends to dst the numbers of the zones that hold the point at lat,
// lon (degrees), boundaries included, in increasing order, and returns
// the extended slice. NaN or out-of-range coordinates are in no zone.
func (ix *Index) At(lat, lon float64, dst []int32) []int32 {
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		return dst
	}
	n := len(dst)
	if t := ix.tileOf[tileRow(lat)*tileCols+tileCol(lon)]; t >= 0 {
		dst = ix.scan(ix.tiles[t].cell(lat, lon), lat, lon, dst)
	}
	if len(ix.wide) > 0 {
		cosLat := math.NaN()
		for _, z := range ix.wide {
			if ix.contains(z, lat, lon, &cosLat) {
				dst = append(dst, z)
			}
		}
		slices.Sort(dst[n:])
	}
	return dst
}

// Any reports whether some zone holds the point at lat, lon.
func (ix *Index) Any(lat, lon float64) bool {
	if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		return false
	}
	if t := ix.tileOf[tileRow(lat)*tileCols+tileCol(lon)]; t >= 0 {
		var buf [8]int32
		if len(ix.scan(ix.tiles[t].cell(lat, lon), lat, lon, buf[:0])) > 0 {
			return true
		}
	}
	cosLat := math.NaN()
	for _, z := range ix.wide {
		if ix.contains(z, lat, lon, &cosLat) {
			return true
		}
	}
	return false
}

// Touching appends to dst the numbers of the zones the area touches
// (shares at least a point with, see [geo.Area.Intersects]), in
// increasing order, and returns the extended slice.
func (ix *Index) Touching(a *geo.Area, dst []int32) []int32 {
	return ix.touching(a, dst, false)
}

// Touches reports whether the area touches some zone.
func (ix *Index) Touches(a *geo.Area) bool {
	return len(ix.touching(a, nil, true)) > 0
}

func (ix *Index) touching(a *geo.Area, dst []int32, first bool) []int32 {
	if a == nil || len(ix.zones) == 0 {
		return dst
	}
	minLat, minLon, maxLat, maxLon := a.Bounds()
	test := func(z int32) bool {
		b := &ix.boxes[z]
		return b.maxLat >= minLat && b.minLat <= maxLat && b.maxLon >= minLon && b.minLon <= maxLon && b.area.Intersects(a)
	}
	n := len(dst)
	var cand []int32
	r0, r1, c0, c1 := tileRow(minLat), tileRow(maxLat), tileCol(minLon), tileCol(maxLon)
	if cells := ix.cellsIn(r0, r1, c0, c1, minLat, maxLat, minLon, maxLon); cells > len(ix.zones) {
		// Visiting the cells would cost more than testing every zone.
		for z := range ix.zones {
			if test(int32(z)) {
				if dst = append(dst, int32(z)); first {
					return dst
				}
			}
		}
		return dst
	}
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			ti := ix.tileOf[r*tileCols+c]
			if ti < 0 {
				continue
			}
			t := &ix.tiles[ti]
			y0, y1, x0, x1 := t.cellRange(minLat, maxLat, minLon, maxLon)
			for y := y0; y <= y1; y++ {
				row := t.base + uint32(y*t.nlon)
				for _, e := range ix.items[ix.start[row+uint32(x0)]:ix.start[row+uint32(x1)+1]] {
					cand = append(cand, e.zone)
				}
			}
		}
	}
	cand = append(cand, ix.wide...)
	slices.Sort(cand)
	cand = slices.Compact(cand)
	for _, z := range cand {
		if test(z) {
			if dst = append(dst, z); first {
				return dst
			}
		}
	}
	slices.Sort(dst[n:])
	return dst
}

// cellsIn counts the grid cells a bounding box overlaps.
func (ix *Index) cellsIn(r0, r1, c0, c1 int, minLat, maxLat, minLon, maxLon float64) int {
	n := 0
	for r := r0; r <= r1; r++ {
		for c := c0; c <= c1; c++ {
			if ti := ix.tileOf[r*tileCols+c]; ti >= 0 {
				t := &ix.tiles[ti]
				y0, y1, x0, x1 := t.cellRange(minLat, maxLat, minLon, maxLon)
				n += int(y1-y0+1) * int(x1-x0+1)
			}
		}
	}
	return n
}

// Bytes returns the memory the index itself holds, in bytes: its grid,
// its tiles and its per-zone boxes, not the zones' areas, which the
// places hold anyway.
func (ix *Index) Bytes() int {
	const zoneSize, boxSize, recSize, tileSize, entrySize = 8 + 16 + 16 + 16 + 8, 40, 64, 48, 20
	return len(ix.zones)*zoneSize + len(ix.boxes)*boxSize + len(ix.recs)*recSize + len(ix.tileOf)*4 + len(ix.tiles)*tileSize +
		len(ix.start)*4 + len(ix.items)*entrySize + len(ix.wide)*4
}

// Stats describes the grid, for benchmarks and logs.
type Stats struct {
	Zones, Tiles, Cells, Items, Wide int
	MaxPerCell                       int
}

// Stats returns the grid's statistics.
func (ix *Index) Stats() Stats {
	s := Stats{Zones: len(ix.zones), Tiles: len(ix.tiles), Cells: len(ix.start) - 1, Items: len(ix.items), Wide: len(ix.wide)}
	for c := 0; c+1 < len(ix.start); c++ {
		s.MaxPerCell = max(s.MaxPerCell, int(ix.start[c+1]-ix.start[c]))
	}
	return s
}

// A Point is a position in degrees.
type Point struct{ Lat, Lon float64 }

// A Hit is a zone that holds a point: their positions in the lists given
// to and answered by [Index.Screen].
type Hit struct {
	Point int32
	Zone  int32
}

// screenBlock is how many points [Index.Screen] looks up together.
const screenBlock = 256

// Screen appends to dst a [Hit] for every zone that holds one of the
// points, ordered by point and then by zone, and returns the extended
// slice: the answers of [Index.At] for many points at once. It works a
// block of points at a time, each step for every point of the block
// before the next (their cells' offsets, then the cells' lists, then the
// exact tests), so that the processor fetches what the block needs from
// memory together rather than one piece after another.
func (ix *Index) Screen(pts []Point, dst []Hit) []Hit {
	var lo, hi [screenBlock]uint32
	cand := make([]Hit, 0, 2*screenBlock)
	for base := 0; base < len(pts); base += screenBlock {
		block := pts[base:min(base+screenBlock, len(pts))]
		for i, p := range block {
			lo[i], hi[i] = 0, 0
			if !(p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180) {
				continue
			}
			if t := ix.tileOf[tileRow(p.Lat)*tileCols+tileCol(p.Lon)]; t >= 0 {
				c := ix.tiles[t].cell(p.Lat, p.Lon)
				lo[i], hi[i] = ix.start[c], ix.start[c+1]
			}
		}
		cand = cand[:0]
		for i, p := range block {
			first := len(cand)
			lat32, lon32 := float32(p.Lat), float32(p.Lon)
			for _, e := range ix.items[lo[i]:hi[i]] {
				if lat32 >= e.minLat && lat32 <= e.maxLat && lon32 >= e.minLon && lon32 <= e.maxLon {
					cand = append(cand, Hit{Point: int32(i), Zone: e.zone})
				}
			}
			if len(ix.wide) > 0 && p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180 {
				for _, z := range ix.wide {
					cand = append(cand, Hit{Point: int32(i), Zone: z})
				}
				slices.SortFunc(cand[first:], func(a, b Hit) int { return int(a.Zone - b.Zone) })
			}
		}
		cosLat, prev := math.NaN(), int32(-1)
		for _, h := range cand {
			p := block[h.Point]
			if h.Point != prev {
				cosLat, prev = math.NaN(), h.Point
			}
			if ix.contains(h.Zone, p.Lat, p.Lon, &cosLat) {
				dst = append(dst, Hit{Point: int32(base) + h.Point, Zone: h.Zone})
			}
		}
	}
	return dst
}
