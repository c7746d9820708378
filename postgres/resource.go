package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/internal/storedform"
	"github.com/scimd/scimd/schema"
)

// resourceCols are the columns scanned by scanResource, on alias r.
const resourceCols = `r.seq, r.id, r.type, r.created, r.last_modified, r.version, r.member_count, r.schemas, r.doc`

// row is a stored resource with its internal sequence number.
type row struct {
	seq          int64
	res          *scimd.Resource
	schemas, doc string // as stored
}

// groupsCol is the groups of a User read with it (see scanResourceGroups):
// a JSON array of [id, displayName] of the groups it is a direct member
// of, in group creation order; NULL for other types and for a User in no
// group. One correlated probe of the memberships_member index, so reading
// a user with its groups is one statement: no transaction is needed for
// one snapshot.
const groupsCol = `CASE WHEN r.type = 'User' THEN ` + groupsOf + ` END`

// groupsOf is the JSON array of groupsCol for the resource r.
const groupsOf = `(SELECT json_agg(json_build_array(g.id, coalesce(g.doc->>'displayName', '')) ORDER BY g.seq)
	FROM memberships m JOIN resources g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
	WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id)`

// decodeGroups decodes groupsCol.
func decodeGroups(b []byte) ([]scimd.GroupRef, error) {
	gs, err := storedform.DecodeGroups(b)
	if err != nil {
		return nil, fmt.Errorf("postgres: decode groups: %w", err)
	}
	return gs, nil
}

func (db *DB) scanResource(s pgx.Row) (row, error) {
	return db.scanResourceGroups(s, false)
}

// scanResourceGroups scans resourceCols, followed by groupsCol if groups
// (then Groups of a User is set, [] when it is in no group).
func (db *DB) scanResourceGroups(s pgx.Row, groups bool) (row, error) {
	var (
		rw            row
		r             scimd.Resource
		schs, doc, gs []byte
	)
	dest := []any{&rw.seq, &r.ID, &r.Type, &r.Meta.Created, &r.Meta.LastModified, &r.Meta.Version, &r.MemberCount, &schs, &doc}
	if groups {
		dest = append(dest, &gs)
	}
	if err := s.Scan(dest...); err != nil {
		return rw, err
	}
	if groups && r.Type == scimd.TypeUser {
		var err error
		if r.Groups, err = decodeGroups(gs); err != nil {
			return rw, err
		}
	}
	r.Meta.Created = r.Meta.Created.UTC()
	r.Meta.LastModified = r.Meta.LastModified.UTC()
	var err error
	rw.schemas, rw.doc = string(schs), string(doc)
	if r.Schemas, err = storedform.DecodeSchemas(rw.schemas); err != nil {
		return rw, fmt.Errorf("postgres: resource %s: schemas: %w", r.ID, err)
	}
	if r.Attrs, err = schema.DecodeStored(db.reg.ResourceType(r.Type), rw.doc); err != nil {
		return rw, fmt.Errorf("postgres: resource %s: %w", r.ID, err)
	}
	rw.res = &r
	return rw, nil
}

// encodeDoc is storedform.EncodeDoc with the store's name on errors.
func encodeDoc(r *scimd.Resource) (schemas, doc json.RawMessage, err error) {
	if schemas, doc, err = storedform.EncodeDoc(r); err != nil {
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	return schemas, doc, nil
}

// text and boolean bind an extracted column: nil (NULL) unless Valid,
// else a pointer to its value in the Columns.
func text(c *sql.Null[string]) *string {
	if !c.Valid {
		return nil
	}
	return &c.V
}

func boolean(c *sql.Null[bool]) *bool {
	if !c.Valid {
		return nil
	}
	return &c.V
}

// writeError translates the error of a statement writing r: uniqueness and
// unstorable text are client errors.
func writeError(what string, r *scimd.Resource, err error) error {
	switch {
	case isUnique(err):
		return storedform.Conflict(r.Type, r)
	case badText(err):
		return &scimd.Error{Status: 400, ScimType: scimd.ScimTypeInvalidValue,
			Detail: "a value contains a character that cannot be stored (NUL)", Err: err}
	}
	return fmt.Errorf("postgres: %s %s: %w", what, r.Type, err)
}

func (db *DB) resourceType(typ string) (*schema.ResourceType, error) {
	rt := db.reg.ResourceType(typ)
	if rt == nil {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "unknown resource type %q", typ)
	}
	return rt, nil
}

// Create implements scimd.Store. A resource without members is one
// statement (createSQL), outside a transaction; a group created with
// members is a transaction.
func (db *DB) Create(ctx context.Context, tenant string, r *scimd.Resource) (*scimd.Resource, error) {
	rt, err := db.resourceType(r.Type)
	if err != nil {
		return nil, err
	}
	if r.Members == nil {
		var out *scimd.Resource
		err := db.retry(ctx, func() error {
			var err error
			out, err = db.createOne(ctx, tenant, rt, r)
			return err
		})
		return out, err
	}
	var out *scimd.Resource
	err = db.inTx(ctx, func(tx *Tx) error {
		out, err = tx.createResource(ctx, tenant, rt, r)
		return err
	})
	return out, err
}

// insertResource is the CTE r inserting a resource (tenant $1, id $2, type
// $3, the indexed columns $4–$7, created and last modified $8, schemas $9,
// doc $10) and returning its seq; insertModified, following it, inserts
// the resource's resource_modified row.
const (
	insertResource = `r AS (INSERT INTO resources
		(tenant_id, id, type, external_id, name_lc, display_lc, active, created, last_modified, version, member_count, schemas, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, 0, $9, $10) RETURNING seq)`
	insertModified = `INSERT INTO resource_modified (res_seq, tenant_id, last_modified) SELECT seq, $1, $8 FROM r`
)

// createSQL inserts a resource ($1–$10), its resource_modified row and its
// value index rows (the folded e-mail types $11 and values $12, in order)
// in one statement, and returns the resource's seq: one round trip, atomic
// without a transaction around it.
const createSQL = `WITH ` + insertResource + `, m AS (` + insertModified + `),
	v AS (INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
		SELECT $1, r.seq, 'emails', (e.ord - 1)::integer, e.type_lc, e.value_lc
		FROM r, unnest($11::text[], $12::text[]) WITH ORDINALITY AS e(type_lc, value_lc, ord))
	SELECT seq FROM r`

// emailColumns splits the folded e-mails of x into the two arrays
// createSQL and the value index rewrite of Update bind.
func emailColumns(x *storedform.Columns) (types, values []*string) {
	types = make([]*string, len(x.Emails))
	values = make([]*string, len(x.Emails))
	for i := range x.Emails {
		e := &x.Emails[i]
		types[i], values[i] = text(&e.Type), text(&e.Value)
	}
	return types, values
}

// createOne creates a resource without members with createSQL.
func (db *DB) createOne(ctx context.Context, tenant string, rt *schema.ResourceType, in *scimd.Resource) (*scimd.Resource, error) {
	r := storedform.New(rt, in, db.Now().UTC().Truncate(time.Microsecond))
	schemas, doc, err := encodeDoc(r)
	if err != nil {
		return nil, err
	}
	x := storedform.Extract(r)
	types, values := emailColumns(&x)
	args := []any{tenant, r.ID, r.Type, text(&x.ExternalID), text(&x.NameLC), text(&x.DisplayLC),
		boolean(&x.Active), r.Meta.Created, schemas, doc, types, values}
	var seq int64
	// Hinted once committed, as an update's write is: a create is the
	// resource's first write.
	hint := func() { db.hints.putEncoded(tenant, seq, r, schemas, doc) }
	if db.commits != nil {
		// With concurrent creates and updates in one transaction
		// (groupcommit.go); on its own if that batch fails.
		err := db.commits.do(ctx, &batchItem{
			queue: func(b *pgx.Batch) { b.Queue(createSQL, args...) },
			read:  func(br pgx.BatchResults) error { return br.QueryRow().Scan(&seq) },
		})
		if err == nil {
			hint()
			return r, nil
		}
		if err != errRunAlone {
			return nil, fmt.Errorf("postgres: create %s: %w", r.Type, err)
		}
	}
	if err := db.pool.QueryRow(ctx, createSQL, args...).Scan(&seq); err != nil {
		return nil, writeError("create", r, err)
	}
	hint()
	return r, nil
}

func (tx *Tx) createResource(ctx context.Context, tenant string, rt *schema.ResourceType, in *scimd.Resource) (*scimd.Resource, error) {
	r := storedform.New(rt, in, tx.now)
	if in.Members != nil && rt.Name != scimd.TypeGroup {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a %s has no members", rt.Name)
	}
	schemas, doc, err := encodeDoc(r)
	if err != nil {
		return nil, err
	}
	x := storedform.Extract(r)
	var seq int64
	err = tx.QueryRow(ctx, `WITH `+insertResource+` `+insertModified+` RETURNING res_seq`,
		tenant, r.ID, r.Type, text(&x.ExternalID), text(&x.NameLC), text(&x.DisplayLC), boolean(&x.Active),
		tx.now, schemas, doc).Scan(&seq)
	if err != nil {
		return nil, writeError("create", r, err)
	}
	if b := (&pgx.Batch{}); queueValueIndex(b, tenant, seq, &x, false) > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, valueIndexError(err)
		}
	}
	if in.Members != nil {
		n, err := tx.addMembers(ctx, tenant, r.ID, in.Members)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			if _, err := tx.Exec(ctx, `UPDATE resources SET member_count = member_count + $1 WHERE seq = $2`, n, seq); err != nil {
				return nil, fmt.Errorf("postgres: create group: member count: %w", err)
			}
		}
		r.MemberCount = int(n)
		if err := tx.load(ctx, tenant, []*scimd.Resource{r}, scimd.ReadOptions{Members: true}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// queueValueIndex queues the statements that (re)write the value index
// rows of a resource and returns how many it queued. Results are read
// with valueIndexError.
func queueValueIndex(b *pgx.Batch, tenant string, seq int64, x *storedform.Columns, replace bool) int {
	n := 0
	if replace {
		b.Queue(`DELETE FROM value_index WHERE tenant_id = $1 AND res_seq = $2`, tenant, seq)
		n++
	}
	if len(x.Emails) > 0 {
		types, values := emailColumns(x)
		b.Queue(`INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
			SELECT $1, $2, 'emails', (e.ord - 1)::integer, e.type_lc, e.value_lc
			FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS e(type_lc, value_lc, ord)`, tenant, seq, types, values)
		n++
	}
	return n
}

// valueIndexError translates the error of a value index statement.
func valueIndexError(err error) error {
	if badText(err) {
		return scimd.BadRequest(scimd.ScimTypeInvalidValue, "an email contains a character that cannot be stored (NUL)")
	}
	return fmt.Errorf("postgres: value index: %w", err)
}

// addMembers adds members to a group, skipping existing ones, and returns
// how many were added. Each member must be a User or Group of the tenant.
// It costs two round trips whatever the number of members: one query looks
// them all up, one statement inserts them.
func (tx *Tx) addMembers(ctx context.Context, tenant, group string, members []scimd.Member) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		if m.Value == group {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a group cannot be a member of itself")
		}
		ids = append(ids, m.Value)
	}
	type info struct{ typ, display string }
	found := make(map[string]info, len(ids))
	rows, err := tx.Query(ctx, `SELECT id, type, coalesce(doc->>'displayName', doc->>'userName', '')
		FROM resources WHERE tenant_id = $1 AND id = ANY($2)`, tenant, ids)
	if err != nil {
		return 0, fmt.Errorf("postgres: add members: %w", err)
	}
	for rows.Next() {
		var id string
		var in info
		if err := rows.Scan(&id, &in.typ, &in.display); err != nil {
			rows.Close()
			return 0, fmt.Errorf("postgres: add members: %w", err)
		}
		found[id] = in
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		if badText(err) {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a member value contains a character that cannot be stored (NUL)")
		}
		return 0, fmt.Errorf("postgres: add members: %w", err)
	}
	types := make([]string, len(members))
	displays := make([]string, len(members))
	for i, m := range members {
		in, ok := found[m.Value]
		if !ok {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "member %q does not exist", m.Value)
		}
		if in.typ != scimd.TypeUser && in.typ != scimd.TypeGroup {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "member %q is a %s, not a User or Group", m.Value, in.typ)
		}
		types[i], displays[i] = in.typ, m.Display
		if displays[i] == "" {
			displays[i] = in.display
		}
	}
	// One statement for all of them; ORDER BY gives seq in the request's
	// order, and a member listed twice is inserted once.
	tag, err := tx.Exec(ctx, `INSERT INTO memberships (tenant_id, group_id, member_id, member_type, display)
		SELECT $1, $2, m.id, m.type, m.display
		FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS m(id, type, display, ord)
		ORDER BY m.ord
		ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING`, tenant, group, ids, types, displays)
	if err != nil {
		if sqlState(err) == codeForeignKeyViolation {
			// A member was deleted after it was looked up.
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a member does not exist")
		}
		if badText(err) {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a member contains a character that cannot be stored (NUL)")
		}
		return 0, fmt.Errorf("postgres: add members: %w", err)
	}
	return tag.RowsAffected(), nil
}

// removeMembers removes the listed members from a group and returns how
// many were removed.
func (tx *Tx) removeMembers(ctx context.Context, tenant, group string, members []scimd.Member) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, m.Value)
	}
	tag, err := tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3)`,
		tenant, group, ids)
	if err != nil {
		if badText(err) {
			return 0, nil // no member id contains NUL
		}
		return 0, fmt.Errorf("postgres: remove members: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Get implements scimd.Store. Unless it needs a group's members (a second
// query, so a read transaction for one snapshot), it is one statement
// outside a transaction: one round trip.
func (db *DB) Get(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions) (*scimd.Resource, error) {
	if typ != scimd.TypeGroup || !opt.Members {
		groups := opt.Groups && typ == scimd.TypeUser
		rw, err := db.scanResourceGroups(db.queryRow(ctx, findSQL(groups, ""), tenant, id, typ), groups)
		if err != nil {
			return nil, findError(typ, id, err)
		}
		db.hints.put(tenant, rw.seq, rw.res, rw.schemas, rw.doc)
		return rw.res, nil
	}
	var r *scimd.Resource
	err := db.inReadTx(ctx, func(tx *Tx) error {
		rw, err := tx.findResource(ctx, tenant, typ, id, "")
		if err != nil {
			return err
		}
		r = rw.res
		return tx.load(ctx, tenant, []*scimd.Resource{r}, opt)
	})
	return r, err
}

// findSQL is the query reading one resource by tenant ($1), id ($2) and
// type ($3), with groupsCol if groups; lock, if not "", is a locking
// clause such as "FOR NO KEY UPDATE".
func findSQL(groups bool, lock string) string {
	cols := resourceCols
	if groups {
		cols += ", " + groupsCol
	}
	return `SELECT ` + cols + ` FROM resources r WHERE r.tenant_id = $1 AND r.id = $2 AND r.type = $3 ` + lock
}

// findError translates the error of reading one resource.
func findError(typ, id string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) || badText(err) {
		return scimd.NotFound("Resource %s not found", id)
	}
	return fmt.Errorf("postgres: get %s %s: %w", typ, id, err)
}

// findResource reads one resource; lock, if not "", is a locking clause
// such as "FOR NO KEY UPDATE".
func (tx *Tx) findResource(ctx context.Context, tenant, typ, id, lock string) (row, error) {
	rw, err := tx.db.scanResource(tx.QueryRow(ctx, findSQL(false, lock), tenant, id, typ))
	if err != nil {
		return rw, findError(typ, id, err)
	}
	return rw, nil
}

// load fills Members of groups and Groups of users as opt says, with one
// query per kind for all of rs.
func (tx *Tx) load(ctx context.Context, tenant string, rs []*scimd.Resource, opt scimd.ReadOptions) error {
	return storedform.LoadMemberships(ctx, (*loader)(tx), tenant, rs, opt)
}

// loader is Tx as a storedform.Loader.
type loader Tx

// LoadMembers implements storedform.Loader: one query for all of ids.
func (l *loader) LoadMembers(ctx context.Context, tenant string, ids []string, into map[string][]scimd.Member) error {
	rows, err := (*Tx)(l).Query(ctx, `SELECT group_id, member_id, member_type, coalesce(display, '')
		FROM memberships WHERE tenant_id = $1 AND group_id = ANY($2) ORDER BY seq`, tenant, ids)
	if err != nil {
		return fmt.Errorf("postgres: load members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var m scimd.Member
		if err := rows.Scan(&g, &m.Value, &m.Type, &m.Display); err != nil {
			return fmt.Errorf("postgres: load members: %w", err)
		}
		into[g] = append(into[g], m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: load members: %w", err)
	}
	return nil
}

// LoadGroups implements storedform.Loader: one query for all of users.
func (l *loader) LoadGroups(ctx context.Context, tenant string, users []string) (map[string][]scimd.GroupRef, error) {
	rows, err := (*Tx)(l).Query(ctx, `SELECT m.member_id, g.id, coalesce(g.doc->>'displayName', '')
		FROM memberships m JOIN resources g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
		WHERE m.tenant_id = $1 AND m.member_id = ANY($2) ORDER BY g.seq`, tenant, users)
	if err != nil {
		return nil, fmt.Errorf("postgres: load groups: %w", err)
	}
	defer rows.Close()
	out := map[string][]scimd.GroupRef{}
	for rows.Next() {
		var u string
		var g scimd.GroupRef
		if err := rows.Scan(&u, &g.Value, &g.Display); err != nil {
			return nil, fmt.Errorf("postgres: load groups: %w", err)
		}
		out[u] = append(out[u], g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: load groups: %w", err)
	}
	return out, nil
}

// Update implements scimd.Store; see the package comment. A Group's row
// is locked (FOR NO KEY UPDATE) while fn runs, so that concurrent member
// changes, in this process or another, take turns instead of retrying. Any
// other resource is first read without a lock, outside a transaction:
// the UPDATE's version check catches a concurrent write, and the retry
// locks. When that UPDATE is the update's only write, it is committed
// together with concurrent ones (updateGrouped, groupcommit.go).
func (db *DB) Update(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions, fn scimd.UpdateFunc) (*scimd.Resource, error) {
	rt, err := db.resourceType(typ)
	if err != nil {
		return nil, err
	}
	lock := rt.Name == scimd.TypeGroup
	if !lock && db.commits != nil {
		out, err := db.updateGrouped(ctx, tenant, rt, id, opt, fn)
		if err != errRunAlone && err != errVersionRace {
			return out, err
		}
		// The update needs more than its UPDATE, its batch failed, or
		// the row changed since it was read (then lock it this time):
		// run it on its own.
		lock = err == errVersionRace
	}
	var out written
	err = db.inTx(ctx, func(tx *Tx) error {
		out, err = tx.update(ctx, tenant, rt, id, opt, fn, lock)
		lock = true // a retry runs on the locked row
		return err
	})
	if err != nil {
		return nil, err
	}
	db.hints.putEncoded(tenant, out.seq, out.res, out.schemas, out.doc) // committed
	return out.res, nil
}

// updateSQL writes a resource's row if it is still at the version read,
// and its time in resource_modified.
const updateSQL = `WITH u AS (UPDATE resources SET external_id = $1, name_lc = $2, display_lc = $3, active = $4,
		last_modified = $5, version = version + 1, member_count = member_count + $6, schemas = $7, doc = $8
		WHERE seq = $9 AND version = $10 RETURNING seq)
		UPDATE resource_modified m SET last_modified = $5 FROM u WHERE m.res_seq = u.seq`

// written is a resource as an update wrote it: its seq, the resource and
// its stored form.
type written struct {
	seq          int64
	res          *scimd.Resource
	schemas, doc []byte
}

// errVersionRace is returned inside the transaction when the row changed
// between the read and the write (which the row lock, when taken, rules
// out); it is treated like a serialization failure: the transaction runs
// again.
var errVersionRace = &pgconn.PgError{Code: codeSerializationFailure, Message: "resource version changed during update"}

func (tx *Tx) update(ctx context.Context, tenant string, rt *schema.ResourceType, id string,
	opt scimd.ReadOptions, fn scimd.UpdateFunc, lock bool) (written, error) {
	clause := ""
	if lock {
		clause = "FOR NO KEY UPDATE"
	}
	rw, err := tx.findResource(ctx, tenant, rt.Name, id, clause)
	if err != nil {
		return written{}, err
	}
	r := rw.res
	ops, old, oldEmails, err := applyFn(rt, id, r, fn)
	if err != nil {
		return written{}, err
	}

	delta := int64(0)
	for _, op := range ops {
		if rt.Name != scimd.TypeGroup {
			return written{}, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a %s has no members", rt.Name)
		}
		d, err := tx.applyMemberOp(ctx, tenant, id, op)
		if err != nil {
			return written{}, err
		}
		delta += d
	}

	schemas, doc, err := encodeDoc(r)
	if err != nil {
		return written{}, err
	}
	if opt.Members && rt.Name == scimd.TypeGroup {
		// The UPDATE below changes no membership: read them now.
		if err := tx.load(ctx, tenant, []*scimd.Resource{r}, scimd.ReadOptions{Members: true}); err != nil {
			return written{}, err
		}
	}
	// The rest is one pipeline: the UPDATE, the value index rows if the
	// e-mails changed (most PATCHes and PUTs leave them as they were), the
	// groups of a User, and COMMIT when it can go with them (below).
	x := storedform.Extract(r)
	b := &pgx.Batch{}
	b.Queue(updateSQL, text(&x.ExternalID), text(&x.NameLC), text(&x.DisplayLC), boolean(&x.Active),
		tx.now, delta, schemas, doc, rw.seq, old.Version)
	nIndex := 0
	if !slices.Equal(oldEmails, x.Emails) {
		nIndex = queueValueIndex(b, tenant, rw.seq, &x, true)
	}
	groups := opt.Groups && rt.Name == scimd.TypeUser
	if groups {
		b.Queue(`SELECT `+groupsOf+` FROM resources r WHERE r.seq = $1`, rw.seq)
	}
	read := func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err != nil {
			return writeError("update", r, err)
		}
		if tag.RowsAffected() == 0 {
			return errVersionRace
		}
		for range nIndex {
			if _, err := br.Exec(); err != nil {
				return valueIndexError(err)
			}
		}
		if groups {
			var gs []byte
			if err := br.QueryRow().Scan(&gs); err != nil {
				return fmt.Errorf("postgres: update %s %s: groups: %w", rt.Name, id, err)
			}
			if r.Groups, err = decodeGroups(gs); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ops) == 0 && nIndex == 0 {
		// The UPDATE is the transaction's only write, so COMMIT goes in
		// the same pipeline: if the version check failed (0 rows), the
		// commit commits nothing and errVersionRace runs it all again.
		err = tx.commitBatch(ctx, b, read)
	} else {
		// Other writes must not be committed after a failed version
		// check: COMMIT waits for the results.
		br := tx.SendBatch(ctx, b)
		err = read(br)
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("postgres: update %s %s: %w", rt.Name, id, cerr)
		}
	}
	if err != nil {
		return written{}, err
	}
	r.Meta.Version = old.Version + 1
	r.Meta.LastModified = tx.now
	r.MemberCount += int(delta)
	return written{seq: rw.seq, res: r, schemas: schemas, doc: doc}, nil
}

// updateGrouped is Update of a resource other than a Group through the
// group committer (groupcommit.go): fn runs on the row as read outside any
// transaction, or on this process's hint of it (hints.go), and when the
// UPDATE is the only write (the value index rows stay as they were) it
// goes in a batch with other updates. errVersionRace and errRunAlone say
// that the update must run on its own; fn has run by then and will run
// again.
func (db *DB) updateGrouped(ctx context.Context, tenant string, rt *schema.ResourceType, id string,
	opt scimd.ReadOptions, fn scimd.UpdateFunc) (*scimd.Resource, error) {
	key := hintKey{tenant, rt.Name, id}
	if e, ok := db.hints.get(key); ok {
		out, err := db.updateFromHint(ctx, tenant, rt, e, opt, fn)
		if err != errStaleHint {
			return out, err
		}
		db.hints.drop(key, e)
	}
	var rw row
	err := db.retry(ctx, func() error {
		var err error
		rw, err = db.scanResource(db.queryRow(ctx, findSQL(false, ""), tenant, id, rt.Name))
		return err
	})
	if err != nil {
		return nil, findError(rt.Name, id, err)
	}
	w, err := db.planGrouped(rt, id, rw, opt, fn)
	if err != nil {
		return nil, err
	}
	return db.writeGrouped(ctx, tenant, rt, w)
}

// errStaleHint says that an update started from a hint must start again
// from the row as read.
var errStaleHint = errors.New("postgres: stale update hint")

// updateFromHint is updateGrouped from the hint e. It returns errStaleHint
// when the hint turned out stale (the version check failed) or may be (fn
// refused the resource as hinted): nothing was written then.
func (db *DB) updateFromHint(ctx context.Context, tenant string, rt *schema.ResourceType, e *hint,
	opt scimd.ReadOptions, fn scimd.UpdateFunc) (*scimd.Resource, error) {
	rw, err := e.resource(rt)
	if err != nil {
		return nil, errStaleHint
	}
	w, err := db.planGrouped(rt, e.key.id, rw, opt, fn)
	switch {
	case err == errRunAlone:
		return nil, err // the ordinary path reads the row itself
	case err != nil:
		return nil, errStaleHint
	}
	out, err := db.writeGrouped(ctx, tenant, rt, w)
	if err == errVersionRace {
		return nil, errStaleHint
	}
	return out, err
}

// groupedWrite is a grouped update ready to be written: the resource after
// fn, its stored form and the batch item that writes it.
type groupedWrite struct {
	r            *scimd.Resource
	seq          int64
	old          scimd.Meta
	schemas, doc []byte
	item         *batchItem
	groups       bool
	gs           []byte // groupsCol, when groups
}

// planGrouped runs fn on rw, the resource id as stored, and prepares its
// UPDATE. Its errors are fn's, or errRunAlone when more than the row
// changes.
func (db *DB) planGrouped(rt *schema.ResourceType, id string, rw row,
	opt scimd.ReadOptions, fn scimd.UpdateFunc) (*groupedWrite, error) {
	r := rw.res
	ops, old, oldEmails, err := applyFn(rt, id, r, fn)
	if err != nil {
		return nil, err
	}
	if len(ops) > 0 {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a %s has no members", rt.Name)
	}
	x := storedform.Extract(r)
	if !slices.Equal(oldEmails, x.Emails) {
		return nil, errRunAlone // the value index rows change too
	}
	schemas, doc, err := encodeDoc(r)
	if err != nil {
		return nil, err
	}
	now := db.Now().UTC().Truncate(time.Microsecond)
	r.Meta.LastModified = now // once written
	w := &groupedWrite{r: r, seq: rw.seq, old: old, schemas: schemas, doc: doc,
		groups: opt.Groups && rt.Name == scimd.TypeUser}
	w.item = &batchItem{
		seq: rw.seq,
		queue: func(b *pgx.Batch) {
			b.Queue(updateSQL, text(&x.ExternalID), text(&x.NameLC), text(&x.DisplayLC), boolean(&x.Active),
				now, 0, schemas, doc, rw.seq, old.Version)
			if w.groups {
				b.Queue(`SELECT `+groupsOf+` FROM resources r WHERE r.seq = $1`, rw.seq)
			}
		},
		// Errors are returned as they come: the committer tells the
		// server's from the connection's.
		read: func(br pgx.BatchResults) error {
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			if w.groups {
				if err := br.QueryRow().Scan(&w.gs); err != nil {
					return err
				}
			}
			if tag.RowsAffected() == 0 {
				return errVersionRace
			}
			return nil
		},
	}
	return w, nil
}

// writeGrouped writes w in a batch of the group committer and returns the
// resource written, whose version it remembers as the resource's hint.
func (db *DB) writeGrouped(ctx context.Context, tenant string, rt *schema.ResourceType, w *groupedWrite) (*scimd.Resource, error) {
	r := w.r
	if err := db.commits.do(ctx, w.item); err != nil {
		if err == errRunAlone || err == errVersionRace {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: update %s %s: %w", rt.Name, r.ID, err)
	}
	r.Meta.Version = w.old.Version + 1
	db.hints.putEncoded(tenant, w.seq, r, w.schemas, w.doc)
	if w.groups {
		var err error
		if r.Groups, err = decodeGroups(w.gs); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// applyFn runs the update function fn on r, the stored resource id as
// read, and puts back what fn may not change. It returns the member
// changes fn asks for, and r's metadata and e-mails as read.
func applyFn(rt *schema.ResourceType, id string, r *scimd.Resource, fn scimd.UpdateFunc) (
	ops []scimd.MemberOp, old scimd.Meta, oldEmails []storedform.Email, err error) {
	old, count := r.Meta, r.MemberCount
	oldEmails = storedform.Extract(r).Emails
	if ops, err = fn(r); err != nil {
		return nil, old, nil, err
	}
	r.ID, r.Type, r.Meta, r.MemberCount = id, rt.Name, old, count
	r.Members, r.Groups = nil, nil
	return ops, old, oldEmails, nil
}

// applyMemberOp applies one membership change and returns the change in
// member count.
func (tx *Tx) applyMemberOp(ctx context.Context, tenant, group string, op scimd.MemberOp) (int64, error) {
	switch op.Kind {
	case scimd.MemberAdd:
		return tx.addMembers(ctx, tenant, group, op.Members)
	case scimd.MemberRemove:
		n, err := tx.removeMembers(ctx, tenant, group, op.Members)
		return -n, err
	case scimd.MemberRemoveAll:
		tag, err := tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND group_id = $2`, tenant, group)
		if err != nil {
			return 0, fmt.Errorf("postgres: remove all members: %w", err)
		}
		return -tag.RowsAffected(), nil
	case scimd.MemberRemoveWhere:
		if op.Filter == nil {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "member filter is missing")
		}
		b := &sqlbuild.Builder{D: tx.db.dialect, Tenant: tenant}
		head := "DELETE FROM memberships AS m WHERE m.tenant_id = " + b.Bind(tenant) + " AND m.group_id = " + b.Bind(group)
		var members *schema.Attribute
		if rt := tx.db.reg.ResourceType(scimd.TypeGroup); rt != nil {
			members = rt.Schema.Attr("members")
		}
		cond, err := b.MemberWhere(members, op.Filter)
		if err != nil {
			return 0, err
		}
		tag, err := tx.Exec(ctx, head+" AND "+cond, b.Args...)
		if err != nil {
			if badText(err) {
				return 0, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "a filter value contains a character that cannot be compared (NUL)")
			}
			return 0, fmt.Errorf("postgres: remove members by filter: %w", err)
		}
		return -tag.RowsAffected(), nil
	}
	return 0, fmt.Errorf("postgres: unknown member op kind %d", op.Kind)
}

// Delete implements scimd.Store.
func (db *DB) Delete(ctx context.Context, tenant, typ, id string, check func(*scimd.Resource) error) error {
	defer db.hints.drop(hintKey{tenant, typ, id}, nil) // harmless if kept, but of no more use
	return db.inTx(ctx, func(tx *Tx) error {
		rw, err := tx.findResource(ctx, tenant, typ, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(rw.res); err != nil {
				return err
			}
		}
		// Groups this resource is a member of lose a member: a change
		// to them. The writes and COMMIT are one pipeline: if one fails,
		// the server skips the rest, COMMIT included.
		b := &pgx.Batch{}
		b.Queue(`WITH g AS (UPDATE resources SET member_count = member_count - 1, version = version + 1, last_modified = $1
			WHERE tenant_id = $2 AND id IN (SELECT group_id FROM memberships WHERE tenant_id = $2 AND member_id = $3) RETURNING seq)
			UPDATE resource_modified m SET last_modified = $1 FROM g WHERE m.res_seq = g.seq`,
			tx.now, tenant, id)
		b.Queue(`DELETE FROM memberships WHERE tenant_id = $1 AND member_id = $2`, tenant, id)
		b.Queue(`DELETE FROM memberships WHERE tenant_id = $1 AND group_id = $2`, tenant, id)
		b.Queue(`DELETE FROM value_index WHERE tenant_id = $1 AND res_seq = $2`, tenant, rw.seq)
		b.Queue(`DELETE FROM resource_modified WHERE res_seq = $1`, rw.seq)
		b.Queue(`DELETE FROM resources WHERE seq = $1`, rw.seq)
		n := b.Len()
		return tx.commitBatch(ctx, b, func(br pgx.BatchResults) error {
			for range n {
				if _, err := br.Exec(); err != nil {
					return fmt.Errorf("postgres: delete %s %s: %w", typ, id, err)
				}
			}
			return nil
		})
	})
}
