package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/sqlbuild"
	"github.com/scimd/scimd/internal/storedform"
	"github.com/scimd/scimd/schema"
)

// resourceCols are the columns scanned by scanResource, on alias r.
const resourceCols = `r.seq, r.id, r.type, r.created, r.last_modified, r.version, r.member_count, r.schemas, r.doc`

// row is a stored resource with its internal sequence number.
type row struct {
	seq int64
	res *scimd.Resource
}

type scanner interface{ Scan(dest ...any) error }

// groupsCol is the groups of a User read with it (see scanResourceExtra):
// a JSON array of [id, displayName] of the groups it is a direct member
// of, in group creation order; NULL for other types. One correlated probe
// of the memberships_member index, so a user read is one statement.
const groupsCol = `CASE WHEN r.type = 'User' THEN (SELECT json_group_array(json_array(g.id, coalesce(json_extract(g.doc, '$.displayName'), '')) ORDER BY g.seq)
	FROM memberships m JOIN resources g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
	WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id) END`

// scanResourceExtra scans resourceCols, then groupsCol if groups, then
// the extra destinations.
func (db *DB) scanResourceExtra(s scanner, groups bool, extra ...any) (row, error) {
	rw, _, err := db.scanRaw(s, groups, extra...)
	return rw, err
}

// scanRaw is scanResourceExtra that also returns the stored text, for the
// read cache (cache.go).
func (db *DB) scanRaw(s scanner, groups bool, extra ...any) (row, rawRow, error) {
	var (
		rw  row
		r   scimd.Resource
		raw rawRow
	)
	dest := make([]any, 0, 10+len(extra))
	dest = append(dest, &rw.seq, &r.ID, &r.Type, &raw.created, &raw.modified, &r.Meta.Version, &r.MemberCount, &raw.schemas, &raw.doc)
	if groups {
		dest = append(dest, &raw.groups)
	}
	dest = append(dest, extra...)
	if err := s.Scan(dest...); err != nil {
		return rw, raw, err
	}
	var err error
	if r.Meta.Created, err = parseTime(raw.created); err != nil {
		return rw, raw, err
	}
	if r.Meta.LastModified, err = parseTime(raw.modified); err != nil {
		return rw, raw, err
	}
	if r.Schemas, err = storedform.DecodeSchemas(raw.schemas); err != nil {
		return rw, raw, fmt.Errorf("sqlite: resource %s: schemas: %w", r.ID, err)
	}
	if r.Attrs, err = schema.DecodeStored(db.reg.ResourceType(r.Type), raw.doc); err != nil {
		return rw, raw, fmt.Errorf("sqlite: resource %s: %w", r.ID, err)
	}
	if groups && r.Type == scimd.TypeUser {
		if r.Groups, err = storedform.DecodeGroups(raw.groups.String); err != nil {
			return rw, raw, fmt.Errorf("sqlite: resource %s: groups: %w", r.ID, err)
		}
	}
	rw.res = &r
	return rw, raw, nil
}

// encodeDoc is storedform.EncodeDoc as text.
func encodeDoc(r *scimd.Resource) (schemas, doc string, err error) {
	sb, d, err := storedform.EncodeDoc(r)
	if err != nil {
		return "", "", fmt.Errorf("sqlite: %w", err)
	}
	return string(sb), string(d), nil
}

// text and boolean bind an extracted column: nil (NULL) unless Valid.
func text(c sql.Null[string]) any {
	if !c.Valid {
		return nil
	}
	return c.V
}

func boolean(c sql.Null[bool]) any {
	if !c.Valid {
		return nil
	}
	return c.V
}

func (db *DB) resourceType(typ string) (*schema.ResourceType, error) {
	rt := db.reg.ResourceType(typ)
	if rt == nil {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "unknown resource type %q", typ)
	}
	return rt, nil
}

// Create implements scimd.Store.
func (db *DB) Create(ctx context.Context, tenant string, r *scimd.Resource) (*scimd.Resource, error) {
	rt, err := db.resourceType(r.Type)
	if err != nil {
		return nil, err
	}
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out, err := tx.createResource(ctx, tenant, rt, r)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: create: commit: %w", err)
	}
	return out, nil
}

func (tx *Tx) createResource(ctx context.Context, tenant string, rt *schema.ResourceType, in *scimd.Resource) (*scimd.Resource, error) {
	r := storedform.New(rt, in, tx.now)
	schemas, doc, err := encodeDoc(r)
	if err != nil {
		return nil, err
	}
	x := storedform.Extract(r)
	name := text(x.NameLC)
	var seq int64
	err = tx.QueryRowContext(ctx, `INSERT INTO resources
		(tenant_id, id, type, external_id, name_lc, display_lc, active, created, last_modified, version, member_count, schemas, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?) RETURNING seq`,
		tenant, r.ID, r.Type, text(x.ExternalID), name, text(x.DisplayLC), boolean(x.Active),
		formatTime(tx.now), formatTime(tx.now), schemas, doc).Scan(&seq)
	if isUnique(err) {
		return nil, storedform.Conflict(r.Type, r)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: create %s: %w", r.Type, err)
	}
	if err := tx.writeValueIndex(ctx, tenant, seq, x, false); err != nil {
		return nil, err
	}
	// The new name may have been cached as "no such name".
	tx.invalidateAfter(tenant, r.Type, []string{r.ID}, name)
	if in.Members != nil {
		if rt.Name != scimd.TypeGroup {
			return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a %s has no members", rt.Name)
		}
		n, err := tx.addMembers(ctx, tenant, r.ID, in.Members)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE resources SET member_count = ? WHERE seq = ?`, n, seq); err != nil {
				return nil, fmt.Errorf("sqlite: create group: member count: %w", err)
			}
		}
		r.MemberCount = int(n)
		if err := tx.load(ctx, tenant, []*scimd.Resource{r}, scimd.ReadOptions{Members: true}); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// writeValueIndex (re)writes the value index rows of a resource.
func (tx *Tx) writeValueIndex(ctx context.Context, tenant string, seq int64, x storedform.Columns, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM value_index WHERE tenant_id = ? AND res_seq = ?`, tenant, seq); err != nil {
			return fmt.Errorf("sqlite: value index: %w", err)
		}
	}
	for i, e := range x.Emails {
		if _, err := tx.ExecContext(ctx, `INSERT INTO value_index (tenant_id, res_seq, attr, ord, type_lc, value_lc)
			VALUES (?, ?, 'emails', ?, ?, ?)`, tenant, seq, i, text(e.Type), text(e.Value)); err != nil {
			return fmt.Errorf("sqlite: value index: %w", err)
		}
	}
	return nil
}

// addMembers adds members to a group, skipping existing ones, and returns
// how many were added. Each member must be a User or Group of the tenant.
func (tx *Tx) addMembers(ctx context.Context, tenant, group string, members []scimd.Member) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	look, err := tx.prepare(ctx, `SELECT type, coalesce(json_extract(doc, '$.displayName'), json_extract(doc, '$.userName'))
		FROM resources WHERE tenant_id = ? AND id = ?`)
	if err != nil {
		return 0, fmt.Errorf("sqlite: add members: %w", err)
	}
	defer look.Close()
	ins, err := tx.prepare(ctx, `INSERT INTO memberships (tenant_id, group_id, member_id, member_type, display)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, group_id, member_id) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("sqlite: add members: %w", err)
	}
	defer ins.Close()
	var added int64
	for _, m := range members {
		if m.Value == group {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a group cannot be a member of itself")
		}
		var typ string
		var display sql.NullString
		err := look.QueryRowContext(ctx, tenant, m.Value).Scan(&typ, &display)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "member %q does not exist", m.Value)
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: add member %s: %w", m.Value, err)
		}
		if typ != scimd.TypeUser && typ != scimd.TypeGroup {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidValue, "member %q is a %s, not a User or Group", m.Value, typ)
		}
		d := m.Display
		if d == "" {
			d = display.String
		}
		res, err := ins.ExecContext(ctx, tenant, group, m.Value, typ, d)
		if err != nil {
			return 0, fmt.Errorf("sqlite: add member %s: %w", m.Value, err)
		}
		if typ == scimd.TypeUser { // its groups change
			tx.invalidateAfter(tenant, typ, []string{m.Value})
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: add member %s: %w", m.Value, err)
		}
		added += n
	}
	return added, nil
}

// removeMembers removes the listed members from a group and returns how
// many were removed.
func (tx *Tx) removeMembers(ctx context.Context, tenant, group string, members []scimd.Member) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	del, err := tx.prepare(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id = ?`)
	if err != nil {
		return 0, fmt.Errorf("sqlite: remove members: %w", err)
	}
	defer del.Close()
	var removed int64
	for _, m := range members {
		res, err := del.ExecContext(ctx, tenant, group, m.Value)
		if err != nil {
			return 0, fmt.Errorf("sqlite: remove member %s: %w", m.Value, err)
		}
		tx.invalidateAfter(tenant, scimd.TypeUser, []string{m.Value}) // its groups change
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: remove member %s: %w", m.Value, err)
		}
		removed += n
	}
	return removed, nil
}

// Get implements scimd.Store.
//
// A User (with its groups, if asked) is one statement on a reader, hence
// one snapshot, without a transaction; a Group with its members takes a
// read transaction (two statements).
func (db *DB) Get(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions) (*scimd.Resource, error) {
	if typ != scimd.TypeGroup || !opt.Members {
		if db.cache != nil {
			return db.getCached(ctx, tenant, typ, id, opt.Groups)
		}
		rw, err := db.findResource(ctx, readers{db}, tenant, typ, id, opt.Groups)
		if err != nil {
			return nil, err
		}
		return rw.res, nil
	}
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rw, err := tx.findResource(ctx, tenant, typ, id)
	if err != nil {
		return nil, err
	}
	if err := tx.load(ctx, tenant, []*scimd.Resource{rw.res}, opt); err != nil {
		return nil, err
	}
	return rw.res, nil
}

const (
	findQuery       = `SELECT ` + resourceCols + ` FROM resources r WHERE r.tenant_id = ? AND r.id = ? AND r.type = ?`
	findGroupsQuery = `SELECT ` + resourceCols + `, ` + groupsCol + ` FROM resources r WHERE r.tenant_id = ? AND r.id = ? AND r.type = ?`
)

func (tx *Tx) findResource(ctx context.Context, tenant, typ, id string) (row, error) {
	return tx.db.findResource(ctx, tx, tenant, typ, id, false)
}

// findResource reads one resource through q, with the groups of a User if
// groups is set (then Groups is non-nil).
func (db *DB) findResource(ctx context.Context, q querier, tenant, typ, id string, groups bool) (row, error) {
	query := findQuery
	if groups && typ == scimd.TypeUser {
		query = findGroupsQuery
	} else {
		groups = false
	}
	rw, err := db.scanResourceExtra(q.QueryRowContext(ctx, query, tenant, id, typ), groups)
	if errors.Is(err, sql.ErrNoRows) {
		return rw, scimd.NotFound("Resource %s not found", id)
	}
	if err != nil {
		return rw, fmt.Errorf("sqlite: get %s %s: %w", typ, id, err)
	}
	return rw, nil
}

// load fills Members of groups and Groups of users as opt says, with one
// query per kind for all of rs; a User read with its groups (groupsCol)
// keeps them.
func (tx *Tx) load(ctx context.Context, tenant string, rs []*scimd.Resource, opt scimd.ReadOptions) error {
	return storedform.LoadMemberships(ctx, (*loader)(tx), tenant, rs, opt)
}

// loader is Tx as a storedform.Loader.
type loader Tx

// inChunk bounds the number of values in one IN list.
const inChunk = 500

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// LoadMembers implements storedform.Loader: one query per inChunk groups,
// sorted by seq in Go.
func (l *loader) LoadMembers(ctx context.Context, tenant string, ids []string, into map[string][]scimd.Member) error {
	tx := (*Tx)(l)
	type mrow struct {
		seq   int64
		group string
		m     scimd.Member
	}
	var all []mrow
	for chunk := range slices.Chunk(ids, inChunk) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, tenant)
		for _, id := range chunk {
			args = append(args, id)
		}
		// No ORDER BY: sorting in Go keeps the planner on the
		// (tenant_id, group_id, member_id) index.
		rows, err := tx.QueryContext(ctx, `SELECT seq, group_id, member_id, member_type, coalesce(display, '')
			FROM memberships WHERE tenant_id = ? AND group_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return fmt.Errorf("sqlite: load members: %w", err)
		}
		for rows.Next() {
			var r mrow
			if err := rows.Scan(&r.seq, &r.group, &r.m.Value, &r.m.Type, &r.m.Display); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: load members: %w", err)
			}
			all = append(all, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("sqlite: load members: %w", err)
		}
	}
	slices.SortFunc(all, func(a, b mrow) int { return int(a.seq - b.seq) })
	for _, r := range all {
		into[r.group] = append(into[r.group], r.m)
	}
	return nil
}

// LoadGroups implements storedform.Loader: one query per inChunk users,
// sorted by group seq in Go.
func (l *loader) LoadGroups(ctx context.Context, tenant string, users []string) (map[string][]scimd.GroupRef, error) {
	tx := (*Tx)(l)
	type grow struct {
		seq  int64
		user string
		g    scimd.GroupRef
	}
	var all []grow
	for chunk := range slices.Chunk(users, inChunk) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, tenant)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, `SELECT g.seq, m.member_id, g.id, coalesce(json_extract(g.doc, '$.displayName'), '')
			FROM memberships m JOIN resources g ON g.tenant_id = m.tenant_id AND g.id = m.group_id
			WHERE m.tenant_id = ? AND m.member_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: load groups: %w", err)
		}
		for rows.Next() {
			var r grow
			if err := rows.Scan(&r.seq, &r.user, &r.g.Value, &r.g.Display); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: load groups: %w", err)
			}
			all = append(all, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: load groups: %w", err)
		}
	}
	slices.SortFunc(all, func(a, b grow) int { return int(a.seq - b.seq) })
	out := map[string][]scimd.GroupRef{}
	for _, r := range all {
		out[r.user] = append(out[r.user], r.g)
	}
	return out, nil
}

// maxUpdateTries bounds retries of an update that lost a version race.
const maxUpdateTries = 10

// Update implements scimd.Store.
func (db *DB) Update(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions, fn scimd.UpdateFunc) (*scimd.Resource, error) {
	rt, err := db.resourceType(typ)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		r, retry, err := db.updateOnce(ctx, tenant, rt, id, opt, fn, try == 0)
		if !retry || try >= maxUpdateTries {
			if retry {
				return nil, fmt.Errorf("sqlite: update %s %s: too many concurrent updates", typ, id)
			}
			return r, err
		}
	}
}

// updateOnce runs one read-modify-write; retry reports a lost version race.
// The first try may start from the cached row (see readForUpdate).
func (db *DB) updateOnce(ctx context.Context, tenant string, rt *schema.ResourceType, id string,
	opt scimd.ReadOptions, fn scimd.UpdateFunc, first bool) (_ *scimd.Resource, retry bool, _ error) {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	groups := opt.Groups && rt.Name == scimd.TypeUser
	rw, read, err := tx.readForUpdate(ctx, tenant, rt.Name, id, groups, first)
	if err != nil {
		return nil, false, err
	}
	r := rw.res
	old, count, memberOf := r.Meta, r.MemberCount, r.Groups
	r.Groups = nil // fn sees the resource as stored
	before := storedform.Extract(r)
	oldDisplay, _ := storedform.StringAttr(r.Attrs, "displayName") // in members' groups
	ops, err := fn(r)
	if err != nil {
		return nil, false, err
	}
	r.ID, r.Type, r.Meta, r.MemberCount = id, rt.Name, old, count
	r.Members, r.Groups = nil, memberOf

	delta := int64(0)
	for _, op := range ops {
		if rt.Name != scimd.TypeGroup {
			return nil, false, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a %s has no members", rt.Name)
		}
		d, err := tx.applyMemberOp(ctx, tenant, id, op)
		if err != nil {
			return nil, false, err
		}
		delta += d
	}

	schemas, doc, err := encodeDoc(r)
	if err != nil {
		return nil, false, err
	}
	x := storedform.Extract(r)
	// Only the extracted columns that changed are written: an unchanged
	// indexed column left out of SET leaves its index alone, so a PATCH of
	// active does not rewrite the userName, displayName and externalId
	// index entries (fewer pages to write to the WAL at commit). Columns
	// compare by value (sql.Null), and are converted for binding only
	// where they changed.
	var set strings.Builder
	args := make([]any, 0, 12)
	changed := func(col string, next any) {
		set.WriteString(col + " = ?, ")
		args = append(args, next)
	}
	if before.ExternalID != x.ExternalID {
		changed("external_id", text(x.ExternalID))
	}
	if before.NameLC != x.NameLC {
		changed("name_lc", text(x.NameLC))
	}
	if before.DisplayLC != x.DisplayLC {
		changed("display_lc", text(x.DisplayLC))
	}
	if before.Active != x.Active {
		changed("active", boolean(x.Active))
	}
	args = append(args, formatTime(tx.now), delta, schemas, doc, tenant, rw.seq, old.Version)
	res, err := tx.ExecContext(ctx, `UPDATE resources SET `+set.String()+`last_modified = ?, version = version + 1,
		member_count = member_count + ?, schemas = ?, doc = ? WHERE tenant_id = ? AND seq = ? AND version = ?`, args...)
	if isUnique(err) {
		return nil, false, storedform.Conflict(rt.Name, r)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: update %s %s: %w", rt.Name, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, false, fmt.Errorf("sqlite: update %s %s: %w", rt.Name, id, err)
	} else if n == 0 {
		return nil, true, nil // changed since read: run fn again
	}
	r.Meta.Version = old.Version + 1
	r.Meta.LastModified = tx.now
	r.MemberCount += int(delta)
	tx.refreshAfter(written(tenant, rw.seq, r, schemas, doc, read, x.NameLC), read.version, names(before.NameLC, x.NameLC)...)
	if d, _ := storedform.StringAttr(r.Attrs, "displayName"); rt.Name == scimd.TypeGroup && d != oldDisplay {
		tx.bumpAfter(tenant, scimd.TypeUser) // every member's groups name the group
	}
	if !slices.Equal(before.Emails, x.Emails) {
		if err := tx.writeValueIndex(ctx, tenant, rw.seq, x, true); err != nil {
			return nil, false, err
		}
	}
	if err := tx.load(ctx, tenant, []*scimd.Resource{r}, opt); err != nil {
		return nil, false, err
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("sqlite: update %s %s: commit: %w", rt.Name, id, err)
	}
	return r, false, nil
}

// updateRead is how an update read the row it starts from.
type updateRead struct {
	version   int64  // of the cached row it started from; -1: read in the transaction
	groups    string // the stored groups of a User (groupsCol), when hasGroups
	hasGroups bool
}

// readForUpdate reads the resource an update starts from, with the groups
// of a User if groups is set. With cached set it may take the row from the
// read cache instead of reading it in the transaction: the UPDATE's
// version check makes that safe, because every write of a resource's row
// bumps its version, so a cached row that is no longer current fails the
// check and the update runs again (then with cached false).
func (tx *Tx) readForUpdate(ctx context.Context, tenant, typ, id string, groups, cached bool) (row, updateRead, error) {
	if cached {
		if e, ok := tx.db.cache.get(cacheKey{tenant, typ, id}, groups); ok {
			r, err := tx.db.decodeCached(e, groups)
			if err != nil {
				return row{}, updateRead{}, err
			}
			return row{seq: e.seq, res: r}, updateRead{version: e.version, groups: e.groups, hasGroups: e.hasGroups}, nil
		}
	}
	query := findQuery
	if groups {
		query = findGroupsQuery
	}
	rw, raw, err := tx.db.scanRaw(tx.QueryRowContext(ctx, query, tenant, id, typ), groups)
	if errors.Is(err, sql.ErrNoRows) {
		return rw, updateRead{}, scimd.NotFound("Resource %s not found", id)
	}
	if err != nil {
		return rw, updateRead{}, fmt.Errorf("sqlite: get %s %s: %w", typ, id, err)
	}
	return rw, updateRead{version: -1, groups: raw.groups.String, hasGroups: groups}, nil
}

// written returns the cache entry of r as an update stored it: its row
// seq, the stored schemas and doc, its folded unique name (the name_lc
// just written), and the groups it read.
func written(tenant string, seq int64, r *scimd.Resource, schemas, doc string, read updateRead, name sql.Null[string]) cachedRow {
	return cachedRow{
		tenant: tenant, seq: seq, id: r.ID, typ: r.Type,
		created: r.Meta.Created, modified: r.Meta.LastModified, version: r.Meta.Version,
		memberCount: r.MemberCount, schemas: schemas, doc: doc,
		groups: read.groups, hasGroups: read.hasGroups,
		name: name.V, hasName: name.Valid,
	}
}

// names returns the folded names among ns (extracted columns) that are
// not NULL.
func names(ns ...sql.Null[string]) []string {
	var out []string
	for _, n := range ns {
		if n.Valid {
			out = append(out, n.V)
		}
	}
	return out
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
		res, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND group_id = ?`, tenant, group)
		if err != nil {
			return 0, fmt.Errorf("sqlite: remove all members: %w", err)
		}
		tx.bumpAfter(tenant, scimd.TypeUser) // the former members' groups change
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: remove all members: %w", err)
		}
		return -n, nil
	case scimd.MemberRemoveWhere:
		if op.Filter == nil {
			return 0, scimd.BadRequest(scimd.ScimTypeInvalidFilter, "member filter is missing")
		}
		b := &sqlbuild.Builder{D: dialect, Tenant: tenant}
		head := "DELETE FROM memberships AS m WHERE m.tenant_id = " + b.Bind(tenant) + " AND m.group_id = " + b.Bind(group)
		var members *schema.Attribute
		if rt := tx.db.reg.ResourceType(scimd.TypeGroup); rt != nil {
			members = rt.Schema.Attr("members")
		}
		cond, err := b.MemberWhere(members, op.Filter)
		if err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, head+" AND "+cond, b.Args...)
		if err != nil {
			return 0, fmt.Errorf("sqlite: remove members by filter: %w", err)
		}
		tx.bumpAfter(tenant, scimd.TypeUser) // the removed members' groups change
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("sqlite: remove members by filter: %w", err)
		}
		return -n, nil
	}
	return 0, fmt.Errorf("sqlite: unknown member op kind %d", op.Kind)
}

// Delete implements scimd.Store.
func (db *DB) Delete(ctx context.Context, tenant, typ, id string, check func(*scimd.Resource) error) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rw, err := tx.findResource(ctx, tenant, typ, id)
	if err != nil {
		return err
	}
	name := text(storedform.Extract(rw.res).NameLC)
	if check != nil {
		if err := check(rw.res); err != nil {
			return err
		}
	}
	now := formatTime(tx.now)
	// Groups this resource is a member of lose a member: a change to them.
	res, err := tx.ExecContext(ctx, `UPDATE resources SET member_count = member_count - 1, version = version + 1, last_modified = ?
		WHERE tenant_id = ? AND id IN (SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ?)`,
		now, tenant, tenant, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete %s %s: update groups: %w", typ, id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete %s %s: update groups: %w", typ, id, err)
	} else if n > 0 {
		tx.bumpAfter(tenant, scimd.TypeGroup)
	}
	tx.invalidateAfter(tenant, typ, []string{id}, name)
	if typ == scimd.TypeGroup {
		tx.bumpAfter(tenant, scimd.TypeUser) // its members' groups change
	}
	for _, q := range []string{
		`DELETE FROM memberships WHERE tenant_id = ? AND member_id = ?`,
		`DELETE FROM memberships WHERE tenant_id = ? AND group_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, tenant, id); err != nil {
			return fmt.Errorf("sqlite: delete %s %s: memberships: %w", typ, id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM value_index WHERE tenant_id = ? AND res_seq = ?`, tenant, rw.seq); err != nil {
		return fmt.Errorf("sqlite: delete %s %s: value index: %w", typ, id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE tenant_id = ? AND seq = ?`, tenant, rw.seq); err != nil {
		return fmt.Errorf("sqlite: delete %s %s: %w", typ, id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: delete %s %s: commit: %w", typ, id, err)
	}
	return nil
}
