package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

func TestErrorLineNamesAnUnreachableAPIServer(t *testing.T) {
	apiErr := func(path string, err error) error {
		return fmt.Errorf("cannot list pods in all namespaces: %w", &url.Error{Op: "Get", URL: "https://127.0.0.1:6443" + path, Err: err})
	}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", apiErr("/api/v1/pods?limit=500", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), "cannot reach the API server at https://127.0.0.1:6443: connection refused"},
		{"cut", apiErr("/apis/apps/v1/deployments", io.EOF), "cannot reach the API server at https://127.0.0.1:6443: the connection was closed"},
		{"timed out", apiErr("/api/v1/pods", context.DeadlineExceeded), "cannot reach the API server at https://127.0.0.1:6443: timed out"},
		{"interrupted is not unreachable", apiErr("/api/v1/pods", context.Canceled), "cannot list pods in all namespaces: Get \"https://127.0.0.1:6443/api/v1/pods\": context canceled"},
		{"a registry URL is left alone", &url.Error{Op: "Head", URL: "https://reg.example.com/v2/app/manifests/1", Err: io.EOF}, "Head \"https://reg.example.com/v2/app/manifests/1\": EOF"},
		{"other errors as one line", errors.New("two\nlines"), "two lines"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorLine(tt.err); got != tt.want {
				t.Errorf("ErrorLine() = %q, want %q", got, tt.want)
			}
		})
	}
}
