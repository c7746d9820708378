package sqlite

import (
	"context"
	"fmt"

	"github.com/scimd/scimd"
)

// BulkCreate creates resources in one transaction (test and benchmark
// datasets).
func (db *DB) BulkCreate(ctx context.Context, tenant string, rs []*scimd.Resource) ([]*scimd.Resource, error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := make([]*scimd.Resource, 0, len(rs))
	for _, r := range rs {
		rt, err := db.resourceType(r.Type)
		if err != nil {
			return nil, err
		}
		c, err := tx.createResource(ctx, tenant, rt, r)
		if err != nil {
			return nil, fmt.Errorf("bulk create: %w", err)
		}
		out = append(out, c)
	}
	return out, tx.Commit()
}

// Explain returns EXPLAIN QUERY PLAN of the list query for q.
func (db *DB) Explain(ctx context.Context, tenant string, q *scimd.ListQuery) (string, error) {
	return db.explainList(ctx, tenant, q)
}
