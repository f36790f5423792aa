package registry_test

// TagManifest: how a signature, attestation or referrers tag is read, and
// what a missing one is.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgtrust/kubectl-imgtrust/internal/testregistry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

func TestTagManifest(t *testing.T) {
	reg := testregistry.New(t)
	d := reg.PushImage(t, "app:v1")
	sigTag := strings.Replace(d.String(), ":", "-", 1) + ".sig"
	reg.PushImage(t, "app:"+sigTag)
	repo := reg.Repo(t, "app")
	present, absent := repo.Tag(sigTag), repo.Tag(strings.TrimSuffix(sigTag, ".sig")+".att")
	// A GET of the present tag answered 404 while its HEAD still finds it:
	// the tag re-pushed or deleted between the two requests.
	vanishing := testregistry.Hook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+sigTag) {
			testregistry.WriteError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return true
		}
		return false
	})
	for _, tt := range []struct {
		name      string
		headFirst bool
		fault     testregistry.Hook
		tag       name.Tag
		wantHits  []string
		wantErr   registry.Reason // "" for found
	}{
		{"present, GET alone", false, nil, present, []string{"GET"}, ""},
		{"absent, GET alone: its 404 says absent", false, nil, absent, []string{"GET"}, registry.ReasonNotFound},
		{"present, HEAD first", true, nil, present, []string{"HEAD", "GET"}, ""},
		{"absent, HEAD first: no GET", true, nil, absent, []string{"HEAD"}, registry.ReasonNotFound},
		{"HEAD finds it, GET does not: not proof of absence", true, vanishing, present, []string{"HEAD", "GET"}, registry.ReasonServerError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := registry.Options{Insecure: []string{reg.Host}}
			if tt.headFirst {
				o.HeadFirst = []string{reg.Host}
			}
			r, err := registry.New(o)
			if err != nil {
				t.Fatal(err)
			}
			reg.Set(func(h *testregistry.Hooks) { h.Fault = tt.fault })
			desc, e := r.Artifacts(registry.Anonymous).ForDigest(repo.Digest(d.String())).TagManifest(context.Background(), tt.tag)
			switch {
			case tt.wantErr == "" && (e != nil || desc == nil || len(desc.Manifest) == 0):
				t.Fatalf("TagManifest = %v, %v; want the manifest", desc, e)
			case tt.wantErr != "" && (e == nil || e.Reason != tt.wantErr):
				t.Fatalf("TagManifest error = %v, want %s", e, tt.wantErr)
			}
			var methods []string
			for _, h := range reg.Hits() {
				methods = append(methods, h.Method)
			}
			if strings.Join(methods, " ") != strings.Join(tt.wantHits, " ") {
				t.Errorf("requests %v, want %v", reg.Hits(), tt.wantHits)
			}
			if tt.wantErr == registry.ReasonServerError && !strings.Contains(e.Message, "run again") {
				t.Errorf("message %q does not say what to do", e.Message)
			}
		})
	}
}
