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
