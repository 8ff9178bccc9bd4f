// Package sqlitedrivers compares the two SQLite drivers on the ledger's
// append path: modernc.org/sqlite (pure Go, Probity's default) and
// github.com/mattn/go-sqlite3 (cgo). It is a module of its own so that the
// cgo driver never becomes a dependency of Probity; see
// docs/benchmarks.md for the figures and the decision.
package sqlitedrivers
