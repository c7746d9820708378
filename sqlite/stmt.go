package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Prepared statement cache.
//
// database/sql with SQL text compiles every statement anew (the driver
// prepares, runs and finalizes it); for the small indexed queries of IdP
// traffic the SQLite parser and code generator cost more than running
// them. A stmtCache keeps one *sql.Stmt per SQL text and pool; database/sql
// then prepares it once on each connection that runs it and reuses it.
//
// Statements are prepared lazily, on first use. A query run outside a
// transaction prepares synchronously on the pool. A query inside a
// transaction must not: preparing on the pool needs a free connection, and
// the transaction holds one (the writer pool has only that one), so the
// first use runs unprepared and schedules the preparation in the
// background, for the uses that follow.
//
// The cache holds at most maxCachedStmts texts and never evicts: the fixed
// queries and the shapes of the filters IdPs send (values are bound, not
// in the text) fill far fewer; texts beyond it simply run unprepared.

const maxCachedStmts = 512

type stmtCache struct {
	db *sql.DB

	stmts sync.Map // SQL text → *sql.Stmt

	mu      sync.Mutex
	n       int             // entries in stmts
	pending map[string]bool // preparations in flight
	closed  bool
	wg      sync.WaitGroup // background preparations
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, pending: map[string]bool{}}
}

// lookup returns the cached statement of query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	return nil
}

// get returns the statement of query, preparing it on the pool if needed.
// It must not be called while holding one of the pool's connections. It
// returns nil (and no error) when the cache is full or closed.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if s := c.lookup(query); s != nil {
		return s, nil
	}
	c.mu.Lock()
	full := c.closed || c.n >= maxCachedStmts
	c.mu.Unlock()
	if full {
		return nil, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return c.store(query, s), nil
}

// store caches s as the statement of query and returns the cached one
// (another caller may have stored it first).
func (c *stmtCache) store(query string, s *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.lookup(query); old != nil || c.closed || c.n >= maxCachedStmts {
		s.Close()
		return old
	}
	c.stmts.Store(query, s)
	c.n++
	return s
}

// prepareLater prepares query in the background, once.
func (c *stmtCache) prepareLater(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.pending[query] || c.n+len(c.pending) >= maxCachedStmts {
		return
	}
	c.pending[query] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if s, err := c.db.PrepareContext(ctx, query); err == nil {
			c.store(query, s)
		}
		c.mu.Lock()
		delete(c.pending, query)
		c.mu.Unlock()
	}()
}

// close closes every cached statement; the cache stays empty afterwards.
// Call it before closing the pool.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.stmts.Delete(k)
		return true
	})
}

// wait waits for background preparations; call it after closing the pool
// (which makes any still waiting for a connection fail at once).
func (c *stmtCache) wait() { c.wg.Wait() }

// Statement-cached queries on the reader pool, outside any transaction:
// each is one statement, hence one consistent snapshot.

func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s, err := db.rstmts.get(ctx, query); err == nil && s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, query, args...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s, err := db.rstmts.get(ctx, query); err == nil && s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.reader.QueryContext(ctx, query, args...)
}

// Statement-cached queries in a transaction. They shadow the methods of
// the embedded *sql.Tx, so every query the store runs in a transaction
// goes through the cache; tx.Tx.QueryContext and friends bypass it.

// stmt returns a transaction-bound copy of the cached statement of query,
// or nil when it is not cached yet (its preparation is then scheduled).
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	s := tx.cache.lookup(query)
	if s == nil {
		tx.cache.prepareLater(query)
		return nil
	}
	return tx.Tx.StmtContext(tx.stmtContext(ctx), s)
}

// prepare returns a statement of query for repeated use in tx.
func (tx *Tx) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if s := tx.stmt(ctx, query); s != nil {
		return s, nil
	}
	return tx.Tx.PrepareContext(tx.stmtContext(ctx), query)
}

// QueryContext runs query in tx, prepared once per connection.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryContext(tx.stmtContext(ctx), args...)
	}
	return tx.Tx.QueryContext(tx.stmtContext(ctx), query, args...)
}

// QueryRowContext runs query in tx, prepared once per connection.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryRowContext(tx.stmtContext(ctx), args...)
	}
	return tx.Tx.QueryRowContext(tx.stmtContext(ctx), query, args...)
}

// ExecContext runs query in tx, prepared once per connection.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := tx.stmt(ctx, query); s != nil {
		return s.ExecContext(tx.stmtContext(ctx), args...)
	}
	return tx.Tx.ExecContext(tx.stmtContext(ctx), query, args...)
}
