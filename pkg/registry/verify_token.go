package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// maxTokenBody bounds what the inspector reads of a token response.
const maxTokenBody = 1 << 20

// tokenInspector sits under go-containerregistry's bearer transport and
// reads the access claims of the token service's answer. It keeps only a
// verdict, never the token, and hands the body on unchanged.
type tokenInspector struct {
	next       http.RoundTripper
	realm      string // token endpoint without query
	repository string

	mu       sync.Mutex
	verdicts []bool // one per token response read: true when it grants pull
}

func (t *tokenInspector) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || t.realm == "" || stripQuery(req.URL.String()) != t.realm {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	if grants, known := grantsPull(body, t.repository); known {
		t.mu.Lock()
		t.verdicts = append(t.verdicts, grants)
		t.mu.Unlock()
	}
	return resp, nil
}

// denied reports whether a token was read and it grants no pull.
func (t *tokenInspector) denied() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.verdicts) > 0 && !t.verdicts[len(t.verdicts)-1]
}

// grantsPull reads a token response ({"token": JWT} or {"access_token":
// JWT}). known is false when the token is opaque or has no "access" claim:
// then only the token service's acceptance counts.
func grantsPull(body []byte, repository string) (grants, known bool) {
	var resp struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &resp) != nil {
		return false, false
	}
	tok := resp.Token
	if tok == "" {
		tok = resp.AccessToken
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false, false
	}
	var claims struct {
		Access *[]struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"access"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Access == nil {
		return false, false
	}
	for _, a := range *claims.Access {
		if a.Type == "repository" && a.Name == repository && (slices.Contains(a.Actions, "pull") || slices.Contains(a.Actions, "*")) {
			return true, true
		}
	}
	return false, true
}
