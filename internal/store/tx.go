package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probity-dev/probity/internal/fault"
	"github.com/probity-dev/probity/internal/ledger"
)

// A Tx is one action's transaction. Every row it writes and every ledger
// entry it appends carries the same time, [Tx.Now].
type Tx struct {
	// Now is the action's time, fixed when the transaction starts.
	Now time.Time

	tx      *sql.Tx
	db      *DB
	tree    *ledger.Tree // SQLite: the batch's tree cursor
	after   []func()     // run after a successful commit
	appends int
}

// Exec executes a statement in the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, query, args...)
}

// prepared returns the writer's prepared form of query, bound to the
// transaction, or nil: only SQLite's writer keeps prepared statements.
func (tx *Tx) prepared(ctx context.Context, query string) *sql.Stmt {
	if tx.tree == nil || tx.db.stmts == nil {
		return nil
	}
	if st := tx.db.stmts.get(query); st != nil {
		return tx.tx.StmtContext(ctx, st)
	}
	return nil
}

// A stmtCache keeps the statements the SQLite writer runs, prepared once
// on its only connection: parsing them again for every write was a tenth of
// the writer's time under concurrent load. That connection is busy while a
// batch runs, so a statement seen for the first time runs unprepared and is
// prepared by the batcher after the batch commits. Statements built at run
// time could make the cache grow without end, so it stops taking new ones
// when full.
type stmtCache struct {
	mu   sync.Mutex
	m    map[string]*sql.Stmt
	want map[string]bool
}

const stmtCacheSize = 256

func newStmtCache() *stmtCache {
	return &stmtCache{m: make(map[string]*sql.Stmt), want: make(map[string]bool)}
}

// get returns the prepared form of query, or nil to run it unprepared.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[query]
	if !ok && len(c.m)+len(c.want) < stmtCacheSize {
		c.want[query] = true
	}
	return st
}

// prepare prepares the statements seen since it last ran. It must run when
// no transaction holds the writer's connection.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.want {
		delete(c.want, q)
		if st, err := db.PrepareContext(ctx, q); err == nil {
			c.m[q] = st
		} // else running it unprepared reports the error
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// Query runs a query in the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, query, args...)
}

// QueryRow runs a query expected to return at most one row.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// Dialect returns the transaction's SQL dialect.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// AfterCommit registers f to run once the transaction has committed. It
// does not run if the transaction rolls back.
func (tx *Tx) AfterCommit(f func()) { tx.after = append(tx.after, f) }

// Update runs fn in a read-write transaction and commits it if fn returns
// nil. fn must confine its effects to the transaction: on SQLite, Update
// groups concurrent calls into one commit (each inside its own savepoint), so
// fn may run on another goroutine and must not assume it runs alone.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if db.ro {
		return fault.New(fault.Internal, "database %s is open read-only", db.desc)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.batch != nil {
		return db.batch.do(ctx, fn)
	}
	return db.updatePostgres(ctx, fn)
}

func (db *DB) updatePostgres(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, "the database is unavailable")
	}
	defer sqlTx.Rollback()
	tx := &Tx{Now: db.now(), tx: sqlTx, db: db}
	if err := call(fn, tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fault.Wrap(err, fault.Unavailable, "the change could not be saved")
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// View runs fn in a read-only transaction over one consistent snapshot.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: db.dialect == Postgres})
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, "the database is unavailable")
	}
	defer sqlTx.Rollback()
	return call(fn, &Tx{Now: db.now(), tx: sqlTx, db: db})
}

// viewOne runs fn in a read-only transaction and returns what it returns.
func viewOne[T any](ctx context.Context, db *DB, fn func(tx *Tx) (T, error)) (T, error) {
	var v T
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// call runs fn, turning a panic into an error so that one bad action cannot
// take a batch of others down with it.
func call(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in transaction: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(tx)
}

// A batcher runs SQLite write transactions on the single writer connection,
// grouping the ones that arrive together into one commit (group commit): one
// fsync then makes a whole batch durable. Each action runs inside its own
// savepoint, so one failing action rolls back alone.
type batcher struct {
	db   *DB
	max  int
	jobs chan *job
	quit chan struct{}
	wg   sync.WaitGroup

	batches, actions atomic.Int64 // for benchmarks: actions per commit
}

type job struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

func newBatcher(db *DB, maxBatch int) *batcher {
	if maxBatch <= 0 {
		maxBatch = 256
	}
	b := &batcher{db: db, max: maxBatch, jobs: make(chan *job), quit: make(chan struct{})}
	b.wg.Add(1)
	go b.run()
	return b
}

var errClosed = fault.New(fault.Unavailable, "the database is closed")

func (b *batcher) do(ctx context.Context, fn func(*Tx) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case b.jobs <- j:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once submitted, wait for the outcome even if ctx ends: the job may
	// already be committed, and the caller must not be told otherwise.
	return <-j.done
}

func (b *batcher) close() {
	select {
	case <-b.quit:
	default:
		close(b.quit)
	}
	b.wg.Wait()
}

func (b *batcher) run() {
	defer b.wg.Done()
	for {
		var first *job
		select {
		case first = <-b.jobs:
		case <-b.quit:
			return
		}
		batch := []*job{first}
		// Take every transaction waiting, yielding in between so that
		// writers the previous commit woke can submit their next one and
		// share this commit (and its fsync) instead of waiting for the next.
		// A lone writer pays two yields with nothing else to run.
		for idle := 0; len(batch) < b.max && idle < 2; {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
				idle = 0
			default:
				runtime.Gosched()
				idle++
			}
		}
		b.batches.Add(1)
		b.actions.Add(int64(len(batch)))
		b.runBatch(batch)
		b.db.stmts.prepare(context.Background(), b.db.write)
	}
}

func (b *batcher) runBatch(batch []*job) {
	db := b.db
	ctx := context.Background() // the batch outlives any one caller's context
	errs := make([]error, len(batch))
	// finish delivers every job's outcome: its own error if it failed,
	// otherwise err (nil when the batch committed).
	finish := func(err error) {
		for i, j := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
			j.done <- errs[i]
		}
	}
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		finish(fault.Wrap(err, fault.Unavailable, "the database is unavailable"))
		return
	}
	defer sqlTx.Rollback()

	var cursor ledger.Tree
	if db.ledger != nil {
		cursor = db.ledger.committedTree()
	}
	single := len(batch) == 1
	var txs []*Tx
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if !single {
			if _, err := sqlTx.ExecContext(ctx, `SAVEPOINT action`); err != nil {
				finish(fault.Wrap(err, fault.Unavailable, "the database is unavailable"))
				return
			}
		}
		saved := cursor
		tx := &Tx{Now: db.now(), tx: sqlTx, db: db, tree: &cursor}
		err := call(j.fn, tx)
		if err == nil {
			txs = append(txs, tx)
			if !single {
				if _, err := sqlTx.ExecContext(ctx, `RELEASE action`); err != nil {
					finish(fault.Wrap(err, fault.Unavailable, "the database is unavailable"))
					return
				}
			}
			continue
		}
		errs[i] = err
		cursor = saved
		if single {
			finish(nil)
			return
		}
		if _, rerr := sqlTx.ExecContext(ctx, `ROLLBACK TO action`); rerr != nil {
			finish(fault.Wrap(errors.Join(err, rerr), fault.Unavailable, "the database is unavailable"))
			return
		}
		if _, rerr := sqlTx.ExecContext(ctx, `RELEASE action`); rerr != nil {
			finish(fault.Wrap(errors.Join(err, rerr), fault.Unavailable, "the database is unavailable"))
			return
		}
	}
	if len(txs) == 0 {
		finish(nil)
		return
	}
	if err := sqlTx.Commit(); err != nil {
		finish(fault.Wrap(err, fault.Unavailable, "the change could not be saved"))
		return
	}
	if db.ledger != nil {
		db.ledger.committed(cursor)
	}
	for _, tx := range txs {
		for _, f := range tx.after {
			f()
		}
	}
	finish(nil)
}
