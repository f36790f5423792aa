// Package admission turns image rules (digest pinning, allowed registry
// prefixes, exempt images) into a ValidatingAdmissionPolicy the API
// server enforces in process, and previews which workloads it would deny
// today. Each rule is written once, as data both sides read: the regular
// expression and the prefixes the Go preview applies are the very strings
// the generated CEL applies, so the preview and the server agree.
package admission
