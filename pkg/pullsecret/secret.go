package pullsecret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
)

// Secret is a parsed pull secret. It never prints its credentials.
type Secret struct {
	Namespace string
	Name      string
	Type      corev1.SecretType
	// Entries are the usable entries, sorted by Key, including empty ones
	// (see Entry.Empty).
	Entries []Entry
	// Problems describe entries that were dropped or are suspicious, e.g.
	// `entry "reg.example.com": auth is not valid base64`. Safe to print.
	Problems []string
	// FailsPulls is true when the kubelet's decoder rejects this secret, so
	// that every image pull of a pod referencing it fails.
	FailsPulls bool
}

// Entry is one usable registry entry of a pull secret.
type Entry struct {
	// Key is the registry key as written in the secret (a password in URL
	// userinfo, which no registry key should hold, is redacted).
	Key string
	// Registry is the key as the kubelet indexes it: host[:port][/path],
	// without scheme and /v1/ or /v2/ (see the package documentation).
	Registry string
	// Username is the username the kubelet sends (from "auth" if present).
	Username string
	// ID identifies the credential's content without revealing it.
	ID string
	// Empty is true when the entry has no username ("{}", null, only an
	// identitytoken, only a password): the kubelet keeps it as an empty
	// credential, which pulls anonymously, and tries it in its place, so it
	// can come before a later match. Its ID is registry.Anonymous's.
	Empty bool

	auth *authenticator
}

// InvalidError says why a pull secret is unusable as a whole. Reason never
// holds a secret value.
type InvalidError struct {
	Namespace string
	Name      string
	Reason    string
	// FailsPulls is true when the kubelet's decoder rejects the secret, so
	// that every image pull of a pod referencing it fails. When false the
	// kubelet silently ignores the secret.
	FailsPulls bool
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("pull secret %s/%s is invalid: %s", e.Namespace, e.Name, e.Reason)
}

// dockerConfigJSON is the top level of a .dockerconfigjson. encoding/json
// matches these names case-insensitively, as it does for the kubelet.
type dockerConfigJSON struct {
	Auths       json.RawMessage `json:"auths"`
	HTTPHeaders json.RawMessage `json:"HttpHeaders"`
}

// rawEntry is one entry of "auths". The kubelet decodes username, password,
// email and auth as strings; any other type rejects the whole secret.
type rawEntry struct {
	Username      json.RawMessage `json:"username"`
	Password      json.RawMessage `json:"password"`
	Email         json.RawMessage `json:"email"`
	Auth          json.RawMessage `json:"auth"`
	IdentityToken json.RawMessage `json:"identitytoken"`
	RegistryToken json.RawMessage `json:"registrytoken"`
}

// Parse parses a pull secret. It returns an *InvalidError when the secret
// is unusable as a whole: a type other than dockerconfigjson/dockercfg (e.g.
// an Opaque secret named in imagePullSecrets), a missing or empty data key,
// JSON that does not parse or is not an object, no "auths" object, no
// entries, or no usable entry. A secret with at least one usable entry is
// returned, with the dropped entries described in Problems: "auth" that is
// not base64 or has no ":", a field of the wrong JSON type, a key that is
// not a URL or names no host (":5000", "https://:5000/v2/", ""). Entries
// without a username are kept as empty credentials, as the kubelet keeps
// them, with a problem saying so.
func Parse(s *corev1.Secret) (*Secret, error) {
	if s == nil {
		return nil, errors.New("parsing pull secret: no secret")
	}
	dataKey, err := dataKeyOf(s)
	if err != nil {
		return nil, err
	}
	data, err := secretData(s, dataKey)
	if err != nil {
		return nil, err
	}
	out := &Secret{Namespace: s.Namespace, Name: s.Name, Type: s.Type}
	auths, err := authsObject(s, dataKey, data, out)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(auths, &raw); err != nil {
		return nil, invalidSecret(s, true, "%q does not decode (%s)", dataKey, typeError(err))
	}
	if len(raw) == 0 {
		return nil, invalidSecret(s, false, "%q has no registry entries", dataKey)
	}
	addEntries(out, raw)
	if len(out.Entries) == 0 {
		return nil, invalidSecret(s, out.FailsPulls, "no usable entry: %s", strings.Join(out.Problems, "; "))
	}
	return out, nil
}

// invalidSecret builds the *InvalidError for s, so that every check of
// Parse words its refusal the same way.
func invalidSecret(s *corev1.Secret, failsPulls bool, format string, args ...any) error {
	return &InvalidError{Namespace: s.Namespace, Name: s.Name, Reason: fmt.Sprintf(format, args...), FailsPulls: failsPulls}
}

// dataKeyOf names the data key s's type keeps its config under, since the
// kubelet reads only the key that goes with the type.
func dataKeyOf(s *corev1.Secret) (string, error) {
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		return corev1.DockerConfigJsonKey, nil
	case corev1.SecretTypeDockercfg:
		return corev1.DockerConfigKey, nil
	}
	reason := fmt.Sprintf("type %q is not %s or %s, so the kubelet ignores it", typeName(s.Type), corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg)
	if _, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
		reason += fmt.Sprintf(" (it has a %q key: recreate it with type %s)", corev1.DockerConfigJsonKey, corev1.SecretTypeDockerConfigJson)
	} else if _, ok := s.Data[corev1.DockerConfigKey]; ok {
		reason += fmt.Sprintf(" (it has a %q key: recreate it with type %s)", corev1.DockerConfigKey, corev1.SecretTypeDockercfg)
	}
	return "", invalidSecret(s, false, "%s", reason)
}

// secretData returns the config under dataKey, refusing it first when it
// is missing or empty (the kubelet ignores the secret) or not JSON (the
// kubelet fails the pulls).
func secretData(s *corev1.Secret, dataKey string) ([]byte, error) {
	data, ok := s.Data[dataKey]
	if !ok {
		return nil, invalidSecret(s, false, "no %q key in data, so the kubelet ignores it", dataKey)
	}
	if len(data) == 0 {
		return nil, invalidSecret(s, false, "%q is empty, so the kubelet ignores it", dataKey)
	}
	if !json.Valid(data) {
		return nil, invalidSecret(s, true, "%q is not valid JSON (%s)", dataKey, syntaxError(data))
	}
	return data, nil
}

// authsObject returns the JSON object that holds the registry entries
// ("auths" of a .dockerconfigjson, the whole of a .dockercfg), since the
// two types nest them differently; a bad "HttpHeaders" is noted in out.
func authsObject(s *corev1.Secret, dataKey string, data []byte, out *Secret) (json.RawMessage, error) {
	if s.Type != corev1.SecretTypeDockerConfigJson {
		return data, wantObject(s, dataKey, data, "it has no registry entries")
	}
	if err := wantObject(s, dataKey, data, `it has no "auths" object, so the kubelet finds no credentials in it`); err != nil {
		return nil, err
	}
	var top dockerConfigJSON
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, invalidSecret(s, true, "%q does not decode (%s)", dataKey, typeError(err))
	}
	if len(top.HTTPHeaders) > 0 && jsonKind(top.HTTPHeaders) != "null" {
		var headers map[string]string
		if err := json.Unmarshal(top.HTTPHeaders, &headers); err != nil {
			out.FailsPulls = true
			out.Problems = append(out.Problems, `"HttpHeaders" is not an object of strings`)
		}
	}
	if len(top.Auths) == 0 || jsonKind(top.Auths) == "null" {
		return nil, invalidSecret(s, false, "%q has no \"auths\" object, so the kubelet finds no credentials in it%s", dataKey, missingAuthsHint(data))
	}
	if kind := jsonKind(top.Auths); kind != "object" {
		return nil, invalidSecret(s, true, "\"auths\" in %q is a JSON %s, not an object", dataKey, kind)
	}
	return top.Auths, nil
}

// wantObject refuses a config that is not a JSON object as the kubelet's
// decoder does: null is ignored (nullWhy says what that leaves), anything
// else fails the pulls.
func wantObject(s *corev1.Secret, dataKey string, data []byte, nullWhy string) error {
	switch kind := jsonKind(data); kind {
	case "object":
		return nil
	case "null":
		return invalidSecret(s, false, "%q is null: %s", dataKey, nullWhy)
	default:
		return invalidSecret(s, true, "%q is a JSON %s, not an object", dataKey, kind)
	}
}

// addEntries parses the entries in key order, so that Entries and
// Problems come out the same on every run, adding each to out.
func addEntries(out *Secret, raw map[string]json.RawMessage) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		if out.Type == corev1.SecretTypeDockercfg && key == "auths" && jsonKind(raw[key]) == "object" {
			// The kubelet takes "auths" for a registry name and finds no
			// credential in it.
			out.Problems = append(out.Problems, fmt.Sprintf(`entry "auths": this looks like a %s body; recreate the secret with type %s`, corev1.DockerConfigJsonKey, corev1.SecretTypeDockerConfigJson))
			continue
		}
		e, problem, fatal := parseEntry(key, raw[key])
		if fatal {
			out.FailsPulls = true
		}
		if problem != "" {
			out.Problems = append(out.Problems, problem)
		}
		if e != nil {
			out.Entries = append(out.Entries, *e)
		}
	}
}

// parseEntry returns the entry if usable, a problem if any, and whether the
// kubelet's decoder would reject the whole secret because of this entry.
func parseEntry(key string, raw json.RawMessage) (e *Entry, problem string, fatal bool) {
	shown := displayKey(key)
	bad := func(fatal bool, format string, args ...any) (*Entry, string, bool) {
		return nil, fmt.Sprintf("entry %q: ", shown) + fmt.Sprintf(format, args...), fatal
	}

	var re rawEntry
	switch kind := jsonKind(raw); kind {
	case "object":
		if err := json.Unmarshal(raw, &re); err != nil {
			return bad(true, "does not decode (%s)", typeError(err))
		}
	case "null":
		// The kubelet decodes null as an empty entry and keeps it.
		return newEntry(key, shown, "", "", false, " (it is null)")
	default:
		return bad(true, "is a JSON %s, not an object", kind)
	}

	fields := []struct {
		name string
		raw  json.RawMessage
		dst  *string
	}{
		{"username", re.Username, new(string)},
		{"password", re.Password, new(string)},
		{"email", re.Email, new(string)},
		{"auth", re.Auth, new(string)},
	}
	for _, f := range fields {
		switch kind := jsonKind(f.raw); kind {
		case "", "null":
		case "string":
			if err := json.Unmarshal(f.raw, f.dst); err != nil {
				return bad(true, "%q does not decode as a string", f.name)
			}
		default:
			return bad(true, "%q is a JSON %s, not a string", f.name, kind)
		}
	}
	username, password, auth := *fields[0].dst, *fields[1].dst, *fields[3].dst

	var disagree bool
	if auth != "" {
		decoded, err := decodeAuth(auth)
		if err != nil {
			return bad(true, "auth is not valid base64")
		}
		user, pass, ok := strings.Cut(string(decoded), ":")
		if !ok {
			return bad(true, "auth does not decode to username:password")
		}
		disagree = (username != "" || password != "") && (username != user || password != pass)
		username, password = user, pass
	}
	note := ""
	switch {
	case username != "":
	case hasString(re.IdentityToken) || hasString(re.RegistryToken):
		note = " (the kubelet ignores identitytoken and registrytoken)"
	case password != "":
		note = " (a password without a username is not sent)"
	}
	return newEntry(key, shown, username, password, disagree, note)
}

// newEntry checks the key and builds the entry of a decoded credential.
// emptyNote says why an entry without a username has none.
func newEntry(key, shown, username, password string, disagree bool, emptyNote string) (*Entry, string, bool) {
	bad := func(msg string) (*Entry, string, bool) {
		return nil, fmt.Sprintf("entry %q: %s", shown, msg), false
	}
	registry, err := normaliseKey(key)
	if err != nil {
		return bad("key is not a valid registry URL, so the kubelet ignores it")
	}
	if !hasHost(registry) {
		// The kubelet indexes it, but no image has an empty host.
		return bad("key names no registry host, so it matches no image")
	}

	if username == "" {
		// The kubelet keeps the entry as an empty credential, tried in its
		// place; the runtime pulls anonymously with it (containerd sends no
		// password without a username).
		e := &Entry{Key: shown, Registry: registry, ID: emptyCredentialID, Empty: true}
		return e, fmt.Sprintf("entry %q: has no username%s: the kubelet tries it in its place as an empty credential, which pulls anonymously", shown, emptyNote), false
	}

	cfg := authn.AuthConfig{Username: username, Password: password}
	e := &Entry{Key: shown, Registry: registry, Username: username, ID: credentialID(cfg), auth: newAuthenticator(cfg)}
	problem := ""
	if disagree {
		problem = fmt.Sprintf("entry %q: the username/password fields disagree with auth; the kubelet uses auth", shown)
	}
	return e, problem, false
}

// hasHost reports whether an index key ("host[:port][/path]") names a host.
func hasHost(indexKey string) bool {
	hostport, _, _ := strings.Cut(indexKey, "/")
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return host != ""
}

// decodeAuth decodes an "auth" value as the kubelet does: padded standard
// base64 if it ends in "=", unpadded otherwise.
func decodeAuth(auth string) ([]byte, error) {
	if strings.HasSuffix(strings.TrimSpace(auth), "=") {
		return base64.StdEncoding.DecodeString(auth)
	}
	return base64.RawStdEncoding.DecodeString(auth)
}

// normaliseKey turns a registry key into the kubelet's index key.
func normaliseKey(key string) (string, error) {
	v := key
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", errors.New("not a URL")
	}
	p := u.Path
	if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, nil
	}
	return u.Host + p, nil
}

// displayKey returns the key as written, with a password in URL userinfo
// redacted.
func displayKey(key string) string {
	if !strings.Contains(key, "@") {
		return key
	}
	v, scheme := key, true
	if !strings.Contains(v, "://") {
		v, scheme = "https://"+v, false
	}
	u, err := url.Parse(v)
	if err != nil {
		// Keep the host side of the last "@" only.
		return "[redacted]@" + key[strings.LastIndex(key, "@")+1:]
	}
	if u.User == nil {
		return key
	}
	shown := u.Redacted()
	if !scheme {
		shown = strings.TrimPrefix(shown, "https://")
	}
	return shown
}

// jsonKind names the type of a valid JSON value, "" when there is none.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func hasString(raw json.RawMessage) bool {
	var s string
	return jsonKind(raw) == "string" && json.Unmarshal(raw, &s) == nil && s != ""
}

// syntaxError describes where invalid JSON breaks, without quoting it.
func syntaxError(data []byte) string {
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal(data, &v); errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "syntax error"
}

// typeError describes a decoding error without the JSON value: an
// UnmarshalTypeError's Value holds a number's digits.
func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		kind, _, _ := strings.Cut(te.Value, " ")
		if te.Field != "" {
			return fmt.Sprintf("%q is a JSON %s", te.Field, kind)
		}
		return fmt.Sprintf("a JSON %s where an object was expected", kind)
	}
	return "unexpected JSON"
}

func typeName(t corev1.SecretType) string {
	if t == "" {
		return string(corev1.SecretTypeOpaque)
	}
	return string(t)
}

// missingAuthsHint recognises two common mistakes in a .dockerconfigjson
// that has no "auths": a legacy .dockercfg map, and a local config that
// points at credential helpers.
func missingAuthsHint(data []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return ""
	}
	for k := range top {
		switch strings.ToLower(k) {
		case "credsstore", "credhelpers":
			return " (it names credential helpers, which exist only on the machine that wrote it)"
		}
	}
	for _, v := range top {
		var e map[string]json.RawMessage
		if json.Unmarshal(v, &e) != nil {
			continue
		}
		for f := range e {
			switch strings.ToLower(f) {
			case "auth", "username":
				return ` (its top level looks like a legacy .dockercfg map: nest it under "auths")`
			}
		}
	}
	return ""
}
