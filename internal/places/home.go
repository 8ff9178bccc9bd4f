package places

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"slices"
	"sync"

	"github.com/golang/geo/s2"

	"github.com/probity-dev/probity/internal/geo"
)

// HomeLevel is the S2 level of the cells an employee's home is kept as.
// Level-17 cells are about 70 m across (0.003 km² on average): a home's
// cells cover a block or two, never pick out a house, and a ping in one
// of them is close enough to the home to matter.
const HomeLevel = 17

// homeLevels are the levels a home's cells are hashed at: its level-17
// cells and their ancestors every three levels up (about 0.6 km, 4.5 km
// and 36 km across), so that an area of any size can be screened by
// descending only into the coarse cells that hold some home.
var homeLevels = [...]int{8, 11, 14, HomeLevel}

// Bounds of the radius around a home, in metres, that its cells cover.
const (
	MinHomeRadiusM     = 50
	DefaultHomeRadiusM = 150
	MaxHomeRadiusM     = 1000
)

// homeKeySize is the size of a [HomeKey], in bytes.
const homeKeySize = 32

// homeDomain separates home-cell hashes from any other use of the key.
const homeDomain = "probity home cell v1\x00"

// A HomeKey computes the keyed hashes (HMAC-SHA256) that stand for the
// cells around employees' homes. Without the key, a hash says nothing
// about where a cell is; the key is kept sealed under the installation's
// secrets key. It is safe for concurrent use.
type HomeKey struct {
	pool sync.Pool // of hash.Hash
}

// GenerateHomeKey returns a new random key.
func GenerateHomeKey() []byte {
	k := make([]byte, homeKeySize)
	rand.Read(k)
	return k
}

// NewHomeKey returns the key whose 32 bytes are raw.
func NewHomeKey(raw []byte) (*HomeKey, error) {
	if len(raw) != homeKeySize {
		return nil, fmt.Errorf("places: a home-cell key is %d bytes, not %d", homeKeySize, len(raw))
	}
	key := bytes.Clone(raw)
	k := &HomeKey{}
	k.pool.New = func() any { return hmac.New(sha256.New, key) }
	return k, nil
}

// A CellHash is the keyed hash of one cell.
type CellHash [sha256.Size]byte

// A HomeCell is a hashed cell of an employee's home.
type HomeCell struct {
	Level int
	Hash  CellHash
}

// Hash returns the keyed hash of the S2 cell id (of any level, in the
// int64 form of [geo.CellID]).
func (k *HomeKey) Hash(id int64) CellHash {
	c := s2.CellID(uint64(id))
	var msg [len(homeDomain) + 9]byte
	copy(msg[:], homeDomain)
	msg[len(homeDomain)] = byte(c.Level())
	binary.BigEndian.PutUint64(msg[len(homeDomain)+1:], uint64(c))
	h := k.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(msg[:])
	var out CellHash
	h.Sum(out[:0])
	k.pool.Put(h)
	return out
}

// HomeCells returns the hashed cells of a home at lat, lon: every level-
// [HomeLevel] cell that may hold a point within radiusM metres of it (50
// to 1,000 m; a few cells only touch the circle), and their ancestors
// at the coarser levels area screening descends through. They are sorted
// by level, then by hash, so their order says nothing about where the
// cells are. The location itself is not kept anywhere.
func (k *HomeKey) HomeCells(lat, lon, radiusM float64) ([]HomeCell, error) {
	if math.IsNaN(radiusM) || radiusM < MinHomeRadiusM || radiusM > MaxHomeRadiusM {
		return nil, &fieldError{"radius_m", fmt.Sprintf("the radius around a home must be %d to %d m, not %g", MinHomeRadiusM, MaxHomeRadiusM, radiusM)}
	}
	c, err := NewCircle(lat, lon, radiusM, Limits{MaxRadiusM: MaxHomeRadiusM})
	if err != nil {
		return nil, err
	}
	ids, err := c.CellIDs(HomeLevel)
	if err != nil {
		return nil, err
	}
	seen := map[s2.CellID]bool{}
	var out []HomeCell
	for _, id := range ids {
		for _, level := range homeLevels {
			p := s2.CellID(uint64(id)).Parent(level)
			if !seen[p] {
				seen[p] = true
				out = append(out, HomeCell{Level: level, Hash: k.Hash(int64(p))})
			}
		}
	}
	slices.SortFunc(out, func(a, b HomeCell) int {
		if a.Level != b.Level {
			return a.Level - b.Level
		}
		return bytes.Compare(a.Hash[:], b.Hash[:])
	})
	return out, nil
}

// A Home is an employee's hashed home cells.
type Home struct {
	PersonID int64
	Cells    []HomeCell
}

// A HomeIndex answers which employees' home cells hold a ping or meet an
// area. It is immutable and safe for concurrent use.
type HomeIndex struct {
	key    *HomeKey
	cells  map[CellHash][]int64 // people, sorted, by hashed cell of any level
	people int
}

// NewHomeIndex builds the index of homes, hashed under key (nil when
// homes are not configured: the index then holds none).
func NewHomeIndex(key *HomeKey, homes []Home) *HomeIndex {
	h := &HomeIndex{key: key, cells: map[CellHash][]int64{}}
	if key == nil {
		return h
	}
	people := map[int64]bool{}
	for _, home := range homes {
		people[home.PersonID] = true
		for _, c := range home.Cells {
			if ps := h.cells[c.Hash]; !slices.Contains(ps, home.PersonID) {
				h.cells[c.Hash] = append(ps, home.PersonID)
			}
		}
	}
	for k, ps := range h.cells {
		slices.Sort(ps)
		h.cells[k] = ps
	}
	h.people = len(people)
	return h
}

// Len returns the number of people whose homes the index holds.
func (h *HomeIndex) Len() int { return h.people }

// At returns the people (sorted person IDs) one of whose home cells holds
// the point at lat, lon. The slice must not be modified.
func (h *HomeIndex) At(lat, lon float64) []int64 {
	if h.key == nil || len(h.cells) == 0 || !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		return nil
	}
	c := s2.CellIDFromLatLng(s2.LatLngFromDegrees(lat, lon)).Parent(HomeLevel)
	return h.cells[h.key.Hash(int64(c))]
}

// Touching returns the people (sorted person IDs) one of whose home cells
// the area may meet (see [geo.Area.IntersectsCell]). It hashes the area's
// coarse cells and descends only into those that hold some home, so its
// cost grows with the homes near the area, not with the area's size.
func (h *HomeIndex) Touching(a *geo.Area) ([]int64, error) {
	if h.key == nil || len(h.cells) == 0 || a == nil {
		return nil, nil
	}
	roots, err := a.CellIDs(homeLevels[0])
	if err != nil {
		return nil, err
	}
	var out []int64
	// walk descends into cell c of level homeLevels[li], which meets the
	// area (inside: lies in it, and so do all its descendants).
	var walk func(c s2.CellID, li int, inside bool)
	walk = func(c s2.CellID, li int, inside bool) {
		ps, ok := h.cells[h.key.Hash(int64(c))]
		if !ok {
			return
		}
		if li == len(homeLevels)-1 {
			out = append(out, ps...)
			return
		}
		next := homeLevels[li+1]
		for ch, end := c.ChildBeginAtLevel(next), c.ChildEndAtLevel(next); ch != end; ch = ch.Next() {
			switch {
			case inside:
				walk(ch, li+1, true)
			case a.IntersectsCell(int64(ch)):
				walk(ch, li+1, a.ContainsCell(int64(ch)))
			}
		}
	}
	for _, r := range roots {
		walk(s2.CellID(uint64(r)), 0, a.ContainsCell(r))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// A Snapshot is what screening needs at one moment: the zones of every
// protected place, and the employees' home cells. It is immutable; the
// application swaps in a new one when places or homes change.
type Snapshot struct {
	// Version is the store's version of the places and homes it was
	// built from.
	Version int64
	Zones   *Index
	Homes   *HomeIndex
}

// NewSnapshot builds the indexes of places and homes.
func NewSnapshot(version int64, ps []Place, homes []Home, key *HomeKey) (*Snapshot, error) {
	zones := make([]Zone, len(ps))
	for i, p := range ps {
		zones[i] = p.Zone()
	}
	ix, err := NewIndex(zones)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Version: version, Zones: ix, Homes: NewHomeIndex(key, homes)}, nil
}
