package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Bounds on a tag listing: pages of tagsPageSize, at most maxTagPages.
const (
	tagsPageSize = 1000
	maxTagPages  = 100
	maxTagsPage  = 8 << 20
)

// Tags lists repo's tags with /v2/<repo>/tags/list, page by page: it
// follows Link headers and, for registries that page with ?last= but send
// no Link, asks again after the last tag of a full page. A registry that
// ignores n answers in one page. It returns the tags and the requests it
// took.
func (a *Artifacts) Tags(ctx context.Context, repo name.Repository) ([]string, int, *Error) {
	var tags []string
	requests := 0
	e := a.bounded(ctx, repo.RegistryStr(), repo.Name(), func(ctx context.Context, _ *remote.Puller) error {
		client, err := a.client(ctx, repo)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		base := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/tags/list"}
		next := base
		next.RawQuery = url.Values{"n": {strconv.Itoa(tagsPageSize)}}.Encode()
		for page := 0; ; page++ {
			if page == maxTagPages {
				return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s lists the tags of %s over more than %d pages", repo.RegistryStr(), repo.RepositoryStr(), maxTagPages)}
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
			if err != nil {
				return err
			}
			requests++
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, maxTagsPage))
			resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body = io.NopCloser(bytes.NewReader(body))
				return transport.CheckError(resp, http.StatusOK)
			}
			var list struct {
				Tags []string `json:"tags"`
			}
			if err := json.Unmarshal(body, &list); err != nil {
				return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s answered the tag list of %s with something that is not one", repo.RegistryStr(), repo.RepositoryStr())}
			}
			added := 0
			for _, t := range list.Tags {
				if !seen[t] {
					seen[t] = true
					tags = append(tags, t)
					added++
				}
			}
			u, err := nextPage(resp.Header, req.URL)
			if err != nil {
				return &Error{Reason: ReasonServerError, Message: fmt.Sprintf("registry %s sent a tag page link to another host", repo.RegistryStr())}
			}
			if u != nil {
				if added == 0 {
					return nil // a Link that brings nothing new: stop, do not loop
				}
				next = *u
				continue
			}
			if len(list.Tags) < tagsPageSize || added == 0 {
				return nil
			}
			next = base
			next.RawQuery = url.Values{"n": {strconv.Itoa(tagsPageSize)}, "last": {list.Tags[len(list.Tags)-1]}}.Encode()
		}
	})
	return tags, requests, e
}
