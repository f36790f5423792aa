package trustpolicy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ClusterPolicy is a sigstore policy-controller ClusterImagePolicy
// (policy.sigstore.dev v1beta1 or v1alpha1) as far as the audit applies
// it. policy-controller admits an image when every policy whose globs
// match it passes, and a policy passes when any one of its authorities
// does; ClusterPolicies keeps that semantics (pkg/signature).
type ClusterPolicy struct {
	Name        string
	Globs       []string
	Authorities []ClusterAuthority

	globs []*regexp.Regexp
}

// ClusterAuthority is one entry of spec.authorities.
type ClusterAuthority struct {
	// Name is the authority's name, "authority-N" when none is written
	// (policy-controller's default).
	Name string
	// Keys are PEM public keys: key.data, or key.secretRef's Secret once
	// the caller has read it (SecretRef names it, PEM is then set).
	Keys []ClusterKey
	// Keyless identities, and keyless.insecureIgnoreSCT.
	Keyless   []Identity
	IgnoreSCT bool
	// Attestations are the predicate types (URIs) of attestations[]: an
	// authority with attestations is met by them alone, as in
	// policy-controller; one without by a signature.
	Attestations []string
}

// ClusterKey is a key of an authority.
type ClusterKey struct {
	// Field names it in messages: "authorities[0].key.data".
	Field string
	// SecretRef is the Secret named by key.secretRef ("" for data);
	// policy-controller reads it from its own namespace.
	SecretRef string
	PEM       []byte
}

// Rule is how reports name the policy, as kubectl does:
// "clusterimagepolicy/NAME".
func (p ClusterPolicy) Rule() string { return "clusterimagepolicy/" + p.Name }

// Matches reports whether one of the policy's globs matches image, the
// image as the pod spec writes it, the way policy-controller matches it:
// against the fully qualified reference (index.docker.io/library/nginx:latest,
// tag or digest included), then against the image as written.
func (p ClusterPolicy) Matches(image string) bool {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return false
	}
	for _, re := range p.globs {
		if re.MatchString(ref.Name()) || ref.Name() != image && re.MatchString(image) {
			return true
		}
	}
	return false
}

// validGlob and compileGlob are policy-controller's (pkg/apis/glob): "*"
// is any run of characters but '/', "**" any run at all, and "*" or
// "*/*" alone mean Docker Hub's official images or all its images.
var validGlob = regexp.MustCompile(`^[a-zA-Z0-9-_:\/\*\.@]+$`)

func compileGlob(glob string) (*regexp.Regexp, error) {
	switch glob {
	case "*/*":
		glob = "index.docker.io/*/*"
	case "*":
		glob = "index.docker.io/library/*"
	}
	if !validGlob.MatchString(glob) {
		return nil, fmt.Errorf("invalid glob %q", glob)
	}
	glob = strings.ReplaceAll(glob, ".", `\.`)
	glob = strings.ReplaceAll(glob, "**", "#")
	glob = strings.ReplaceAll(glob, "*", "[^/]*")
	glob = strings.ReplaceAll(glob, "#", ".*")
	return regexp.Compile("^" + glob + "$")
}

// ClusterPolicyFrom reads the spec of the ClusterImagePolicy name. What
// the audit does not apply is a warning naming the policy and the field,
// never silently dropped; an authority left with nothing to verify is
// dropped with its warning, and a policy left with no authority or no
// glob is not applied (ok false, its warning says so).
func ClusterPolicyFrom(policyName string, spec map[string]any) (p ClusterPolicy, warnings []string, ok bool) {
	p.Name = policyName
	at := p.Rule() + ": "
	warn := func(field, what string) { warnings = append(warnings, oneLine(at+"spec."+field+": "+what)) }
	for _, f := range []struct{ field, what string }{
		{"policy", "the CUE/Rego policy is not evaluated; only the authorities are checked"},
		{"match", "the resource selection is not applied; the policy is applied to every audited workload"},
	} {
		if spec[f.field] != nil {
			warn(f.field, f.what)
		}
	}
	if mode, _ := spec["mode"].(string); mode == "warn" {
		warn("mode", "warn: policy-controller admits what fails this policy, with a warning; it is reported here as if enforced")
	}
	images, _ := spec["images"].([]any)
	for i, v := range images {
		m, _ := v.(map[string]any)
		glob, _ := m["glob"].(string)
		field := "images[" + strconv.Itoa(i) + "].glob"
		re, err := compileGlob(glob)
		if err != nil {
			warn(field, quote(glob)+" is not a glob policy-controller accepts; it matches nothing")
			continue
		}
		p.Globs = append(p.Globs, glob)
		p.globs = append(p.globs, re)
	}
	auths, _ := spec["authorities"].([]any)
	for i, v := range auths {
		m, _ := v.(map[string]any)
		a, ws := clusterAuthority(i, m)
		for _, w := range ws {
			warn(w[0], w[1])
		}
		if len(a.Keys)+len(a.Keyless) == 0 {
			warn("authorities["+strconv.Itoa(i)+"]", "nothing here is verified by the audit; the authority is left out")
			continue
		}
		p.Authorities = append(p.Authorities, a)
	}
	switch {
	case len(p.globs) == 0:
		warnings = append(warnings, oneLine(at+"no glob the audit can apply; the policy is left out"))
		return p, warnings, false
	case len(p.Authorities) == 0:
		warnings = append(warnings, oneLine(at+"no authority the audit can verify; the policy is left out, so the images it matches are judged without it"))
		return p, warnings, false
	}
	return p, warnings, true
}

// clusterAuthority reads authorities[i]; warnings are {field, what}.
func clusterAuthority(i int, m map[string]any) (ClusterAuthority, [][2]string) {
	path := "authorities[" + strconv.Itoa(i) + "]"
	a := ClusterAuthority{Name: "authority-" + strconv.Itoa(i)}
	if n, _ := m["name"].(string); n != "" {
		a.Name = n
	}
	var ws [][2]string
	warn := func(field, what string) { ws = append(ws, [2]string{path + "." + field, what}) }
	if key, ok := m["key"].(map[string]any); ok {
		switch {
		case key["kms"] != nil:
			warn("key.kms", "KMS keys are not read; export the public key into key.data, or audit with a TrustPolicy file")
		case key["data"] != nil:
			data, _ := key["data"].(string)
			a.Keys = append(a.Keys, ClusterKey{Field: path + ".key.data", PEM: []byte(data)})
		case key["secretRef"] != nil:
			ref, _ := key["secretRef"].(map[string]any)
			secret, _ := ref["name"].(string)
			a.Keys = append(a.Keys, ClusterKey{Field: path + ".key.secretRef", SecretRef: secret})
			if ns, _ := ref["namespace"].(string); ns != "" {
				warn("key.secretRef.namespace", quote(ns)+" is ignored, as policy-controller ignores it: the Secret is read from policy-controller's namespace (--policy-controller-namespace)")
			}
		}
		if h, _ := key["hashAlgorithm"].(string); h != "" && h != "sha256" {
			warn("key.hashAlgorithm", quote(h)+" is not supported; signatures are checked with sha256")
		}
	}
	if kl, ok := m["keyless"].(map[string]any); ok {
		if kl["ca-cert"] != nil {
			warn("keyless.ca-cert", "a CA certificate is not read; give the CA as a trusted_root.json with --trusted-root")
		}
		if ref, _ := kl["trustRootRef"].(string); ref != "" {
			warn("keyless.trustRootRef", "the TrustRoot "+quote(ref)+" is not read; certificates are checked against --trusted-root, else the public-good root")
		}
		if u, _ := kl["url"].(string); u != "" && strings.TrimSuffix(u, "/") != "https://fulcio.sigstore.dev" {
			warn("keyless.url", quote(u)+" is not read; certificates are checked against --trusted-root, else the public-good root")
		}
		if b, _ := kl["insecureIgnoreSCT"].(bool); b {
			a.IgnoreSCT = true
		}
		ids, _ := kl["identities"].([]any)
		for j, v := range ids {
			idm, _ := v.(map[string]any)
			id, err := clusterIdentity(idm)
			if err != nil {
				warn("keyless.identities["+strconv.Itoa(j)+"]", err.Error()+"; the identity is left out")
				continue
			}
			a.Keyless = append(a.Keyless, id)
		}
	}
	if tl, ok := m["ctlog"].(map[string]any); ok {
		if len(a.Keys) > 0 {
			warn("ctlog", "the transparency-log entry of keyed signatures is not checked")
		} else if tl["url"] != nil || tl["trustRootRef"] != nil {
			warn("ctlog", "not read; log entries are checked against --trusted-root, else the public-good root")
		}
	}
	for _, f := range []struct{ field, what string }{
		{"static", "a static pass or fail is not applied"},
		{"source", "signatures are read from the image's own repository, with the workload's pull secrets (source and signaturePullSecrets are not applied)"},
		{"rfc3161timestamp", "RFC 3161 timestamps are not checked apart from what the trusted root holds"},
	} {
		if m[f.field] != nil {
			warn(f.field, f.what)
		}
	}
	atts, _ := m["attestations"].([]any)
	for j, v := range atts {
		am, _ := v.(map[string]any)
		field := "attestations[" + strconv.Itoa(j) + "]"
		raw, _ := am["predicateType"].(string)
		pt, ok := PredicateType(raw)
		if !ok {
			warn(field+".predicateType", quote(raw)+" is not a predicate type; the attestation is left out")
			continue
		}
		if am["policy"] != nil {
			warn(field+".policy", "the attestation's policy is not evaluated; only its signature is checked")
		}
		a.Attestations = append(a.Attestations, pt)
	}
	return a, ws
}

// clusterIdentity is a keyless identity; policy-controller allows either
// of issuer and subject to be left out, which matches any.
func clusterIdentity(m map[string]any) (Identity, error) {
	var id Identity
	id.Issuer, _ = m["issuer"].(string)
	id.IssuerRegExp, _ = m["issuerRegExp"].(string)
	id.Subject, _ = m["subject"].(string)
	id.SubjectRegExp, _ = m["subjectRegExp"].(string)
	if id.Issuer == "" && id.IssuerRegExp == "" {
		id.IssuerRegExp = ".*"
	}
	if id.Subject == "" && id.SubjectRegExp == "" {
		id.SubjectRegExp = ".*"
	}
	for _, re := range []struct{ field, expr string }{{"issuerRegExp", id.IssuerRegExp}, {"subjectRegExp", id.SubjectRegExp}} {
		if _, err := regexp.Compile(re.expr); err != nil {
			return id, fmt.Errorf("%s %s does not compile", re.field, quote(re.expr))
		}
	}
	return id, nil
}
