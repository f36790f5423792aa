package pipeline

import (
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// Combinations that cannot mean anything are refused before any key,
// root or policy file is read.
func TestAuthoritiesRefusesBadCombinations(t *testing.T) {
	for _, tt := range []struct {
		cfg  SignatureConfig
		want string
	}{
		{SignatureConfig{TrustPolicy: "p.yaml", VerifyKeys: []string{"k.pub"}}, "--trust-policy cannot be combined"},
		{SignatureConfig{TrustPolicy: "p.yaml", IgnoreSCT: true}, "--trust-policy cannot be combined"},
		{SignatureConfig{IgnoreTlog: true}, "apply to keyless signatures"},
		{SignatureConfig{Keyless: trustpolicy.Identity{Subject: "me"}}, "keyless needs one of"},
		{SignatureConfig{Keyless: trustpolicy.Identity{Subject: "me", SubjectRegExp: "m.*", Issuer: "i"}}, "keyless needs one of"},
	} {
		_, err := Authorities(tt.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Authorities(%+v) = %v, want an error saying %q", tt.cfg, err, tt.want)
		}
	}
}
