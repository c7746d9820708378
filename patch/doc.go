// Package patch decodes SCIM PATCH requests (RFC 7644 §3.5.2) and applies
// them to a resource in memory, tolerating the shapes real IdP clients send.
//
// Decode turns a request body into Operations; Apply (or Options.Apply, for
// per-tenant compatibility switches) changes a resource's Attrs in place and
// returns the changes to a Group's membership as scimd.MemberOps, because
// members are never loaded into memory. The caller then runs the resource
// type's Validate (required attributes, one primary value, immutable
// attributes) before storing the result.
//
// # Semantics
//
// Attribute names, sub-attribute names, schema URNs and op names match
// case-insensitively; values are canonicalised with schema.CoerceValue
// ("False" becomes false, a bare string for Entra's manager becomes
// {"value": …}), and a one-element list is accepted for a single-valued
// attribute. Null, [] and {} mean unassigned: add of such a value changes
// nothing, replace of it clears the attribute.
//
//   - add: a single-valued simple attribute is set; a single-valued complex
//     attribute has the given sub-attributes merged in; a multi-valued
//     attribute gets the values appended, skipping values equal to existing
//     ones (strings compare case-insensitively unless caseExact).
//   - replace: as add, except that a multi-valued attribute given by a plain
//     path takes the new list as a whole. Replacing an absent attribute adds
//     it.
//   - remove: deletes the attribute or sub-attribute (from every value of a
//     multi-valued attribute). With a value list and a multi-valued
//     attribute it deletes only the values matching a listed one (Entra's
//     legacy member removal, applied to every attribute); a listed object
//     matches when the sub-attributes it names are equal.
//   - Value paths (emails[type eq "work"], optionally followed by
//     ".value"): add and replace set the sub-attribute on every matching
//     value; without a sub-attribute, add merges the value into every
//     matching value and replace replaces them whole (RFC 7644 §3.5.2.3);
//     remove deletes the matching values
//     or their sub-attribute, succeeding when nothing matches. When nothing
//     matches an add or replace and the filter is a conjunction of "eq"
//     comparisons, a value is created from those comparisons (Entra's
//     create-on-absent), so several operations on
//     addresses[type eq "work"].x land in one value; any other filter gives
//     noTarget. Options.StrictReplace restores noTarget for replace.
//   - No path: the value is an object whose keys are attribute names,
//     dotted paths ("name.givenName"), URN-qualified paths, or schema URNs
//     holding an object of that schema's attributes; each key is applied as
//     an operation of its own, in case-insensitive key order. readOnly keys
//     ("meta", "groups") and "schemas" are ignored there, but an "id" must
//     equal the resource's id (Okta sends it when renaming a group).
//   - readOnly attributes named by a path give mutability. Immutable
//     attributes and sub-attributes may be set when absent; changing or
//     removing an existing value gives mutability. readOnly sub-attributes
//     in values are dropped, and those derived from a changed "value"
//     (manager.displayName) are cleared for the server to recompute.
//   - Setting a value with "primary": true sets "primary" to false on the
//     attribute's other values.
//   - A Group's "members" never enter Attrs. add gives MemberAdd; replace
//     gives MemberRemoveAll then MemberAdd (Options.MemberReplaceAdds turns
//     it into MemberAdd); remove gives MemberRemoveAll, or MemberRemove of
//     the listed values, or — for members[value eq "x" or …] — MemberRemove
//     of those ids, or MemberRemoveWhere for any other filter over value,
//     type and display. A member needs a string "value"; "type" is
//     canonicalised to "User" or "Group"; "$ref" is ignored. Paths into
//     members' sub-attributes give invalidPath.
//
// Errors are *scimd.Error with status 400 and a detail naming the
// operation (Operations[i]) and the attribute.
package patch
