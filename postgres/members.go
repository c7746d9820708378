package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd"
)

var _ scimd.MemberStreamer = (*DB)(nil)

// StreamGroup implements scimd.MemberStreamer: the group row and its
// members are read in one read-only REPEATABLE READ transaction, the
// members row by row as fn consumes them (pgx reads a result from the
// connection as Next is called; the server sorts by seq within its
// work_mem, spilling to disk beyond it).
//
// Unlike inReadTx, a failed StreamGroup is never run again: fn may have
// written part of a response already.
func (db *DB) StreamGroup(ctx context.Context, tenant, id string, fn func(g *scimd.Resource, members scimd.MemberSeq) error) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer c.Release()
	// BEGIN goes with the group's query (see Tx).
	tx := &Tx{conn: c.Conn(), db: db, now: db.Now().UTC().Truncate(time.Microsecond),
		begin: beginSQL(pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})}
	defer tx.rollback(ctx)
	rw, err := tx.findResource(ctx, tenant, scimd.TypeGroup, id, "")
	if err != nil {
		return err
	}
	return fn(rw.res, func(yield func(scimd.Member) error) error {
		return tx.eachMember(ctx, tenant, id, yield)
	})
}

// eachMember calls yield for each member of group, in insertion order.
func (tx *Tx) eachMember(ctx context.Context, tenant, group string, yield func(scimd.Member) error) error {
	rows, err := tx.Query(ctx, `SELECT member_id, member_type, coalesce(display, '')
		FROM memberships WHERE tenant_id = $1 AND group_id = $2 ORDER BY seq`, tenant, group)
	if err != nil {
		return fmt.Errorf("postgres: stream members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m scimd.Member
		if err := rows.Scan(&m.Value, &m.Type, &m.Display); err != nil {
			return fmt.Errorf("postgres: stream members: %w", err)
		}
		if err := yield(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: stream members: %w", err)
	}
	return nil
}
