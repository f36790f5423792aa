package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/audit"
	"github.com/imgtrust/kubectl-imgtrust/pkg/provenance"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
)

// The verdicts are counted once per image, however many workloads run it.
func TestTally(t *testing.T) {
	verified := &signature.Result{Status: signature.StatusVerified}
	rep := audit.Report{Items: []audit.Item{
		{Image: "a", Signature: verified, Provenance: &provenance.Provenance{Verified: true, From: "cosign-attestation"}},
		{Image: "a", Signature: verified, Provenance: &provenance.Provenance{Verified: true, From: "cosign-attestation"}},
		{Image: "b", Signature: &signature.Result{Status: signature.StatusLookupFailed}, Provenance: &provenance.Provenance{Error: "429"}},
		{Image: "c", Signature: verified, Provenance: &provenance.Provenance{}},
	}}
	want := "1 signature lookup-failed, 2 signature verified, 1 provenance error, 1 provenance unverified, 1 provenance verified (cosign-attestation)"
	if got := tally(rep); got != want {
		t.Errorf("tally = %q\nwant    %q", got, want)
	}
	if got := tally(audit.Report{}); got != "no verdicts" {
		t.Errorf("tally of an empty report = %q, want no verdicts", got)
	}
}

// Splicing the signature section leaves the main one, and the prose, alone.
func TestSpliceSectionKeepsTheOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	doc := "intro\n" + beginMarker + "\nmain rows\n" + endMarker + "\nprose\n" + sigBeginMarker + "\nold\n" + sigEndMarker + "\ntail\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := spliceSection(path, sigBeginMarker+"\nnew\n"+sigEndMarker+"\n", sigBeginMarker, sigEndMarker); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := strings.Replace(doc, "\nold\n", "\nnew\n", 1)
	if string(b) != want {
		t.Errorf("after splicing:\n%s\nwant:\n%s", b, want)
	}
}

// A run without the signature steps writes no signature section.
func TestNoSignatureSectionWithoutItsSteps(t *testing.T) {
	dir := t.TempDir()
	if _, ran, err := renderSignatures(dir, "20ms", 4); err != nil || ran {
		t.Errorf("no signature-steps.tsv: ran %v, err %v; want not ran, no error", ran, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "signature-steps.tsv"), []byte("audit-verify-key\tkubectl imgtrust audit -A --verify-key KEY -o json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ran, err := renderSignatures(dir, "20ms", 4); err != nil || ran {
		t.Errorf("steps listed but not run: ran %v, err %v; want not ran, no error", ran, err)
	}
}

// The keyless row is judged against the keyless cosign loop, the keyed
// rows against the keyed one; a row that did not run is not judged.
func TestSigTargets(t *testing.T) {
	run := func(wall float64) []runResult { return []runResult{{wall: wall}} }
	byID := map[string]*step{
		"audit-verify-key":           {id: "audit-verify-key", runs: run(10)},
		"cosign-verify-loop":         {id: "cosign-verify-loop", runs: run(250)},
		"audit-keyless":              {id: "audit-keyless", runs: run(12)},
		"cosign-verify-keyless-loop": {id: "cosign-verify-keyless-loop", runs: run(180)},
		"audit-provenance":           {id: "audit-provenance"},
	}
	floors := map[string]float64{"audit-verify-key": 8, "audit-keyless": 7}
	want := []string{
		"audit-verify-key ≥ 20× faster than cosign-verify-loop (250.00 s): 25.0× — met",
		"audit-verify-key ≤ 1.5× the physical limit of its requests (8.00 s): 1.25× — met",
		"audit-keyless ≥ 20× faster than cosign-verify-keyless-loop (180.00 s): 15.0× — **missed**",
		"audit-keyless ≤ 1.5× the physical limit of its requests (7.00 s): 1.71× — **missed**",
	}
	got := sigTargets(byID, floors)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sigTargets =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	delete(byID, "cosign-verify-keyless-loop")
	got = sigTargets(byID, floors)
	if w := "audit-keyless ≥ 20× faster than cosign-verify-keyless-loop: not measured (the loop did not run)"; len(got) != 4 || got[2] != w {
		t.Errorf("without the keyless loop: %q, want line 3 %q", got, w)
	}
}

// Both cosign loops report their failures from the loop's last stderr line.
func TestVerdictsOfTheLoops(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
		t.Fatal(err)
	}
	for id, last := range map[string]string{"cosign-verify-loop": "cosign verify failed for 0 digests", "cosign-verify-keyless-loop": "cosign verify failed for 3 digests"} {
		if err := os.WriteFile(filepath.Join(dir, "runs", id+".1.stderr"), []byte("noise\n"+last+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, want := verdicts(dir, id, 20), "20 digests: "+last; got != want {
			t.Errorf("verdicts(%s) = %q, want %q", id, got, want)
		}
	}
}
