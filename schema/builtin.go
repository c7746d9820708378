package schema

// Definitions of the built-in schemas: the common attributes (RFC 7643 §3.1),
// the core User and Group schemas (§4.1, §4.2, §8.7.1) and the Enterprise
// User extension (§4.3, §8.7.2).

// URNCoreV1 is the SCIM 1.1 core schema URN. Some clients (OneLogin, Okta's
// SCIM 1.1 connector) send it to SCIM 2.0 endpoints; it is accepted in a
// body's "schemas" as an alias of the resource type's core schema.
const URNCoreV1 = "urn:scim:schemas:core:1.0"

// Discovery schema URNs (RFC 7643 §6, §7).
const (
	URNSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	URNResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

// attr returns a single-valued, optional, readWrite attribute of type t with
// the default characteristics; the option functions adjust it.
func attr(name string, t Type, desc string, opts ...func(*Attribute)) *Attribute {
	a := &Attribute{
		Name:        name,
		Type:        t,
		Description: desc,
		Mutability:  ReadWrite,
		Returned:    Default,
		Uniqueness:  None,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func multi(a *Attribute)     { a.MultiValued = true }
func required(a *Attribute)  { a.Required = true }
func caseExact(a *Attribute) { a.CaseExact = true }
func readOnly(a *Attribute)  { a.Mutability = ReadOnly }
func immutable(a *Attribute) { a.Mutability = Immutable }
func uniqueServer(a *Attribute) {
	a.Uniqueness = Server
}
func returnedAlways(a *Attribute) { a.Returned = Always }

func canonical(values ...string) func(*Attribute) {
	return func(a *Attribute) { a.CanonicalValues = values }
}

func refTypes(types ...string) func(*Attribute) {
	return func(a *Attribute) { a.ReferenceTypes = types }
}

func subs(sub ...*Attribute) func(*Attribute) {
	return func(a *Attribute) { a.SubAttributes = sub }
}

// allReadOnly marks a and all its sub-attributes readOnly.
func allReadOnly(a *Attribute) {
	a.Mutability = ReadOnly
	for _, s := range a.SubAttributes {
		s.Mutability = ReadOnly
	}
}

// plural returns the usual sub-attributes of a multi-valued complex
// attribute: value, display, type, primary.
func plural(what string, valueType Type, types []string, extra ...func(*Attribute)) []*Attribute {
	value := attr("value", valueType, "The value of the "+what+".", extra...)
	return []*Attribute{
		value,
		attr("display", String, "A human-readable name, primarily used for display purposes."),
		attr("type", String, "A label indicating the function of the "+what+".", canonical(types...)),
		attr("primary", Boolean, "Whether this value is the preferred "+what+"; at most one value may be primary."),
	}
}

func commonAttributes() []*Attribute {
	return []*Attribute{
		attr("id", String, "Unique identifier for the resource, assigned by the service provider.",
			caseExact, readOnly, returnedAlways, uniqueServer),
		attr("externalId", String, "Identifier of the resource as defined by the provisioning client.",
			caseExact),
		attr("meta", Complex, "Resource metadata maintained by the service provider.", subs(
			attr("resourceType", String, "The name of the resource type of the resource.", caseExact),
			attr("created", DateTime, "When the resource was added to the service provider."),
			attr("lastModified", DateTime, "When the resource was last updated."),
			attr("location", Reference, "The URI of the resource.", refTypes("uri")),
			attr("version", String, "The version (weak entity tag) of the resource.", caseExact),
		), allReadOnly),
	}
}

func userSchema() *Schema {
	str := func(name, desc string, opts ...func(*Attribute)) *Attribute { return attr(name, String, desc, opts...) }
	return &Schema{
		ID:          URNUser,
		Name:        "User",
		Description: "User Account",
		Attributes: []*Attribute{
			str("userName", "Unique identifier for the User, used by the user to authenticate. Unique per tenant, compared case-insensitively.",
				required, uniqueServer),
			attr("name", Complex, "The components of the user's real name.", subs(
				str("formatted", "The full name, formatted for display."),
				str("familyName", "The family name (last name)."),
				str("givenName", "The given name (first name)."),
				str("middleName", "The middle name(s)."),
				str("honorificPrefix", "The honorific prefix(es), e.g. 'Ms.'."),
				str("honorificSuffix", "The honorific suffix(es), e.g. 'III'."),
			)),
			str("displayName", "The name of the user, suitable for display to end-users."),
			str("nickName", "The casual way to address the user."),
			attr("profileUrl", Reference, "A URI pointing to the user's online profile.", refTypes("external")),
			str("title", "The user's title, such as 'Vice President'."),
			str("userType", "The relationship between the organization and the user, e.g. 'Employee'."),
			str("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language format)."),
			str("locale", "The user's default location for localizing items such as currency and dates."),
			str("timezone", "The user's time zone in IANA Time Zone database format, e.g. 'Europe/Lisbon'."),
			attr("active", Boolean, "The user's administrative status."),
			str("password", "The user's cleartext password; never returned.", func(a *Attribute) {
				a.Mutability = WriteOnly
				a.Returned = Never
			}),
			attr("emails", Complex, "Email addresses for the user.", multi,
				subs(plural("email address", String, []string{"work", "home", "other"})...)),
			attr("phoneNumbers", Complex, "Phone numbers for the user.", multi,
				subs(plural("phone number", String, []string{"work", "home", "mobile", "fax", "pager", "other"})...)),
			attr("ims", Complex, "Instant messaging addresses for the user.", multi,
				subs(plural("instant messaging address", String, []string{"aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"})...)),
			attr("photos", Complex, "URLs of photos of the user.", multi,
				subs(plural("photo URL", Reference, []string{"photo", "thumbnail"}, refTypes("external"))...)),
			attr("addresses", Complex, "Physical mailing addresses for the user.", multi, subs(
				str("formatted", "The full mailing address, formatted for display."),
				str("streetAddress", "The full street address."),
				str("locality", "The city or locality."),
				str("region", "The state or region."),
				str("postalCode", "The zip code or postal code."),
				str("country", "The country name (ISO 3166-1 alpha-2 code)."),
				str("type", "A label indicating the function of the address.", canonical("work", "home", "other")),
				attr("primary", Boolean, "Whether this is the preferred address; at most one value may be primary."),
			)),
			attr("groups", Complex, "The groups the user belongs to, maintained by the service provider from group membership.", multi, subs(
				str("value", "The id of the group.", caseExact),
				attr("$ref", Reference, "The URI of the group.", refTypes("User", "Group")),
				str("display", "The displayName of the group."),
				str("type", "How the membership was derived.", canonical("direct", "indirect")),
			), allReadOnly),
			attr("entitlements", Complex, "Entitlements of the user.", multi,
				subs(plural("entitlement", String, nil)...)),
			attr("roles", Complex, "Roles of the user.", multi,
				subs(plural("role", String, nil)...)),
			attr("x509Certificates", Complex, "X.509 certificates issued to the user.", multi,
				subs(plural("certificate", Binary, nil)...)),
		},
	}
}

func enterpriseUserSchema() *Schema {
	str := func(name, desc string) *Attribute { return attr(name, String, desc) }
	return &Schema{
		ID:          URNEnterpriseUser,
		Name:        "EnterpriseUser",
		Description: "Enterprise User",
		Attributes: []*Attribute{
			str("employeeNumber", "A string identifier, typically numeric or alphanumeric, assigned to a person by the organization."),
			str("costCenter", "The name of a cost center."),
			str("organization", "The name of an organization."),
			str("division", "The name of a division."),
			str("department", "The name of a department."),
			attr("manager", Complex, "The user's manager.", subs(
				str("value", "The id of the manager's User resource."),
				attr("$ref", Reference, "The URI of the manager's User resource.", refTypes("User")),
				attr("displayName", String, "The displayName of the manager; maintained by the service provider.", readOnly),
			)),
		},
	}
}

func groupSchema() *Schema {
	return &Schema{
		ID:          URNGroup,
		Name:        "Group",
		Description: "Group",
		Attributes: []*Attribute{
			attr("displayName", String, "A human-readable name for the group. Unique per tenant, compared case-insensitively.",
				required, uniqueServer),
			attr("members", Complex, "The members of the group.", multi, subs(
				attr("value", String, "The id of the member resource.", immutable, required, caseExact),
				attr("$ref", Reference, "The URI of the member resource.", immutable, refTypes("User", "Group")),
				attr("type", String, "The type of the member resource.", immutable, canonical("User", "Group")),
				attr("display", String, "A human-readable name of the member."),
			)),
		},
	}
}

// CommonAttributes are id, externalId and meta (RFC 7643 §3.1), which every
// resource type has. Resolve finds them with Resolved.Schema == nil.
var CommonAttributes = commonAttributes()

// Built-in schemas, shared by every registry. They must not be modified.
var (
	builtinUser       = userSchema()
	builtinEnterprise = enterpriseUserSchema()
	builtinGroup      = groupSchema()
)

// Schema URNs of the built-in schemas.
const (
	URNUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// NewRegistryWith returns a registry serving User (core schema plus the
// Enterprise User extension plus userExts) and Group (plus groupExts).
func NewRegistryWith(userExts, groupExts []Extension) *Registry {
	user := &ResourceType{
		Name:        "User",
		Endpoint:    "/Users",
		Description: "User Account",
		Schema:      builtinUser,
		Extensions:  append([]Extension{{Schema: builtinEnterprise}}, userExts...),
	}
	group := &ResourceType{
		Name:        "Group",
		Endpoint:    "/Groups",
		Description: "Group",
		Schema:      builtinGroup,
		Extensions:  append([]Extension(nil), groupExts...),
	}
	return NewRegistry(user, group)
}

// DefaultRegistry is NewRegistryWith(nil, nil).
func DefaultRegistry() *Registry { return NewRegistryWith(nil, nil) }
