package sqlite

import (
	"context"
	"fmt"

	"github.com/scimd/scimd"
)

var _ scimd.MemberStreamer = (*DB)(nil)

// StreamGroup implements scimd.MemberStreamer: the group row and its
// members are read in one read transaction, the members straight from a
// cursor as fn consumes them.
//
// The members are read in insertion order (ORDER BY seq) through the
// (tenant_id, group_id, member_id) index, which SQLite then sorts: its
// sorter keeps about cache_size of records in memory and spills the rest to
// temporary files, so memory stays bounded whatever the group's size. The
// index is named because without it the planner may prefer to walk the
// whole memberships table in seq order to avoid the sort, reading every
// group's rows. See docs/decisions.md.
func (db *DB) StreamGroup(ctx context.Context, tenant, id string, fn func(g *scimd.Resource, members scimd.MemberSeq) error) error {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rw, err := tx.findResource(ctx, tenant, scimd.TypeGroup, id)
	if err != nil {
		return err
	}
	return fn(rw.res, func(yield func(scimd.Member) error) error {
		return tx.eachMember(ctx, tenant, id, yield)
	})
}

// streamMembersQuery reads one group's members in insertion order.
const streamMembersQuery = `SELECT member_id, member_type, coalesce(display, '')
	FROM memberships INDEXED BY memberships_group
	WHERE tenant_id = ? AND group_id = ? ORDER BY seq`

// eachMember calls yield for each member of group, in insertion order.
func (tx *Tx) eachMember(ctx context.Context, tenant, group string, yield func(scimd.Member) error) error {
	rows, err := tx.QueryContext(ctx, streamMembersQuery, tenant, group)
	if err != nil {
		return fmt.Errorf("sqlite: stream members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m scimd.Member
		if err := rows.Scan(&m.Value, &m.Type, &m.Display); err != nil {
			return fmt.Errorf("sqlite: stream members: %w", err)
		}
		if err := yield(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: stream members: %w", err)
	}
	return nil
}
