//go:build race

package store_test

// raceEnabled reports whether the race detector is on: it slows the
// embedded SQLite, which is compiled Go, about twentyfold, and tests that
// import real data then import less of it.
const raceEnabled = true
