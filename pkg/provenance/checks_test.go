package provenance

import (
	"reflect"
	"testing"
)

// The checks attestation is read into CheckedBy: a verified one wins over
// a newer unverified one; other predicates are left to the SLSA reader.
func TestCheckedBy(t *testing.T) {
	stmt := func(time, checks string) []byte {
		return []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"` + PredicateChecks + `","predicate":{"checks":[` + checks + `],"trustPolicy":{"name":"trust.yaml","digest":{"sha256":"ab12"}},"time":"` + time + `","tool":{"name":"kubectl-imgtrust","version":"v1.0.0"}}}`)
	}
	got := checkedBy([]Attested{
		{Statement: []byte(`{"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`), Verified: true},
		{Statement: stmt("2026-01-01T00:00:00Z", `{"name":"verified-upstream","result":"passed"},{"name":"provenance","result":"passed"}`), Verified: true, SignedBy: "KEYID"},
		{Statement: stmt("2026-02-01T00:00:00Z", ``), Verified: false, SignedBy: "a key not given"},
	})
	want := &CheckedBy{Checks: []string{"verified-upstream", "provenance"}, Time: "2026-01-01T00:00:00Z", Tool: "kubectl-imgtrust v1.0.0", TrustPolicy: "trust.yaml@sha256:ab12", Verified: true, SignedBy: "KEYID"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checkedBy\n got %+v\nwant %+v", got, want)
	}
	if w := got.Word(); w != "verified-upstream,provenance" {
		t.Errorf("word %q", w)
	}
	if w := (&CheckedBy{Checks: []string{}}).Word(); w != "unverified:no-checks" {
		t.Errorf("word of an unverified attestation with no checks %q", w)
	}
	if checkedBy([]Attested{{Statement: []byte(`{"predicateType":"https://slsa.dev/provenance/v1"}`)}}) != nil {
		t.Errorf("a SLSA statement read as checks")
	}
}
