package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// tagServer serves /v2/app/tags/list over all, paging as mode says:
// "link" (n and a Link header, as distribution does), "last" (n and last,
// no Link), "ignore-n" (everything at once), "loop" (a Link to itself).
func tagServer(t *testing.T, all []string, mode string) (name.Repository, *int) {
	t.Helper()
	sort.Strings(all)
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		requests++
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		last := r.URL.Query().Get("last")
		start := sort.SearchStrings(all, last)
		if last != "" && start < len(all) && all[start] == last {
			start++
		}
		if mode == "ignore-n" || mode == "loop" {
			n, start = len(all), 0
		}
		if n > 3 {
			n = 3 // this registry's page size, whatever was asked
		}
		if mode == "ignore-n" {
			n = len(all)
		}
		end := min(start+n, len(all))
		page := all[start:end]
		if mode == "link" && end < len(all) {
			w.Header().Set("Link", fmt.Sprintf(`</v2/app/tags/list?n=3&last=%s>; rel="next"`, page[len(page)-1]))
		}
		if mode == "loop" {
			w.Header().Set("Link", `</v2/app/tags/list?n=3>; rel="next"`)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "app", "tags": page})
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	repo, err := name.NewRepository(host+"/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return repo, &requests
}

func TestTagsPagination(t *testing.T) {
	all := []string{"1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "2.0.0", "latest"}
	for _, c := range []struct {
		mode     string
		requests int
		want     []string
	}{{"link", 3, all}, {"ignore-n", 1, all}, {"loop", 2, all[:3]}} { // a Link that brings nothing new ends the listing
		t.Run(c.mode, func(t *testing.T) {
			repo, served := tagServer(t, append([]string(nil), all...), c.mode)
			r, err := New(Options{Insecure: []string{repo.RegistryStr()}})
			if err != nil {
				t.Fatal(err)
			}
			tags, requests, e := r.Artifacts(Anonymous).Tags(context.Background(), repo)
			if e != nil {
				t.Fatal(e)
			}
			sort.Strings(tags)
			if strings.Join(tags, ",") != strings.Join(c.want, ",") {
				t.Errorf("tags %v, want %v", tags, c.want)
			}
			if requests != c.requests || *served != c.requests {
				t.Errorf("requests: counted %d, served %d, want %d", requests, *served, c.requests)
			}
		})
	}
}

// A registry that pages with ?last= and sends no Link is read to the end
// when its pages are full.
func TestTagsLastWithoutLink(t *testing.T) {
	var all []string
	for i := range 2500 {
		all = append(all, fmt.Sprintf("t%04d", i))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		start := sort.SearchStrings(all, r.URL.Query().Get("last"))
		if start < len(all) && all[start] == r.URL.Query().Get("last") {
			start++
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		_ = json.NewEncoder(w).Encode(map[string]any{"tags": all[start:min(start+n, len(all))]})
	}))
	defer srv.Close()
	repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/app", name.Insecure)
	r, _ := New(Options{Insecure: []string{repo.RegistryStr()}})
	tags, requests, e := r.Artifacts(Anonymous).Tags(context.Background(), repo)
	if e != nil || len(tags) != len(all) || requests != 3 {
		t.Fatalf("got %d tags in %d requests (%v), want %d in 3", len(tags), requests, e, len(all))
	}
}

func TestTagsDenied(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"listing is not allowed"}]}`))
	}))
	defer srv.Close()
	repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/app", name.Insecure)
	r, _ := New(Options{Insecure: []string{repo.RegistryStr()}, Retries: 1})
	_, _, e := r.Artifacts(Anonymous).Tags(context.Background(), repo)
	if e == nil || e.Reason != ReasonForbidden {
		t.Fatalf("want a denied error, got %v", e)
	}
}

// A tag listing redirected to another host is refused, and the error
// says it was the tag list (the client is shared with referrers).
func TestTagsRedirectToAnotherHostNamesTheTagList(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed to %s", r.URL)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	repo, _ := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/app", name.Insecure)
	r, _ := New(Options{Insecure: []string{repo.RegistryStr()}, Retries: 1})
	_, _, e := r.Artifacts(Anonymous).Tags(context.Background(), repo)
	if e == nil || !strings.Contains(e.Error(), "refusing the tag list redirect") {
		t.Fatalf("want the refused tag-list redirect named, got %v", e)
	}
}
