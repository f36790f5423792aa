package registry

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
)

// Go's system pool reads SSL_CERT_FILE on Linux and the other Unixes (not
// on macOS or Windows, which ask the OS). Roots load once per process, so
// the check runs in a child process.
func TestSSLCertFileHonoured(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" || runtime.GOOS == "ios" {
		t.Skip("SSL_CERT_FILE is not read on " + runtime.GOOS)
	}
	if image := os.Getenv("IMGTRUST_TEST_SSL_IMAGE"); image != "" {
		r := newResolver(t, Options{}) // no CAFile: system roots only
		got := r.Resolve(t.Context(), Request{Image: image})
		if got.Err != nil {
			t.Fatalf("with SSL_CERT_FILE=%s: %v", os.Getenv("SSL_CERT_FILE"), got.Err)
		}
		return
	}
	reg := testregistry.New(t, testregistry.WithTLS())
	reg.PushImage(t, "app:v1")
	for _, tt := range []struct {
		name     string
		certFile string
		wantOK   bool
	}{
		{"the registry's CA", reg.CAFile(t), true},
		{"another CA", otherCA(t), false},
	} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSSLCertFileHonoured$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+tt.certFile, "IMGTRUST_TEST_SSL_IMAGE="+reg.Host+"/app:v1")
		out, err := cmd.CombinedOutput()
		if (err == nil) != tt.wantOK {
			t.Errorf("%s: child succeeded = %t, want %t; output:\n%s", tt.name, err == nil, tt.wantOK, out)
		}
		if !tt.wantOK && !strings.Contains(string(out), "tls:") {
			t.Errorf("%s: child output lacks a tls failure:\n%s", tt.name, out)
		}
	}
}
