-- 0004: host names that address a tenant (Host-based routing). host is
-- scimd.CanonicalHost of the name: lower-cased, no port, no trailing dot;
-- globally unique, since one host can name only one tenant.

CREATE TABLE tenant_hosts (
	host      TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE
);
CREATE INDEX tenant_hosts_tenant ON tenant_hosts (tenant_id, host);
