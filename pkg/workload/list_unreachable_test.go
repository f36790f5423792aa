package workload

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// When the API server stops answering part-way (one kind's LIST is cut),
// List fails instead of returning the other kinds as a complete report,
// and the error keeps the transport error for the caller to name.
func TestListFailsWhenTheAPIServerDoesNotAnswer(t *testing.T) {
	client := newFakeClient()
	cut := &url.Error{Op: "Get", URL: "https://127.0.0.1:6443/apis/apps/v1/statefulsets?limit=500", Err: syscall.ECONNREFUSED}
	client.PrependReactor("list", "statefulsets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, cut
	})
	objects, problems, err := List(context.Background(), client, "shop")
	if err == nil {
		t.Fatalf("List() err = nil with %d objects, want an error: a cut connection is not RBAC", len(objects))
	}
	if objects != nil {
		t.Errorf("List() objects = %v, want nil with the error", ids(objects))
	}
	var uerr *url.Error
	if !errors.As(err, &uerr) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("List() err = %v, want it to wrap the *url.Error", err)
	}
	if !strings.Contains(err.Error(), "statefulsets.apps") || len(problems) != 1 {
		t.Errorf("List() err = %v with %d problems, want it to name statefulsets.apps, one problem", err, len(problems))
	}
}
