// Package conformance is a test kit for SCIM 2.0 service providers. It
// checks a server, over HTTP and through package scimclient only, against
// what Okta's and Microsoft Entra ID's provisioning clients send and expect
// and against RFC 7643 and RFC 7644, so it can test any SCIM server, not just
// scimd.
//
// Checks are data: each Check has an ID, a group ("discovery", "okta",
// "entra", "rfc"), a title, the rule it verifies with its source, the
// ServiceProviderConfig features it needs, and a Run function. Run receives a
// *T, which wraps a recording scimclient.Client, offers assertions that keep
// the failing exchange and the rule broken, and deletes the resources the
// check created when it ends.
//
// Run executes a selection of Checks (see Config.Only and Config.Skip) and
// returns a Report, which renders as text (WriteText), JSON (WriteJSON) or
// JUnit XML (WriteJUnit).
//
// Every resource a run creates has a name containing the run's random ID, is
// tracked by the check that created it, and is deleted when that check ends
// (unless Config.Keep is set). A run never modifies or deletes a resource it
// did not create; it only reads others (for example when paging through a
// list).
package conformance
