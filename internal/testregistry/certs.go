package testregistry

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// CAFile writes the server's certificate as a CA file and returns its
// path.
func (reg *Registry) CAFile(t testing.TB) string {
	t.Helper()
	return WritePEM(t, reg.Server.Certificate().Raw)
}

// WritePEM writes a DER certificate as a PEM file and returns its path.
func WritePEM(t testing.TB, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
