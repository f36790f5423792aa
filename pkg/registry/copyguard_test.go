package registry

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An upload may continue at another path of the target, never on another
// host or port.
func TestUploadLocationStaysOnTheTarget(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://reg.example/v2/app/blobs/uploads/", nil)
	for loc, ok := range map[string]bool{
		"/v2/app/blobs/uploads/1?state=x":              true,
		"https://reg.example/v2/app/blobs/uploads/1":   true,
		"https://REG.example:443/v2/app/blobs/uploads": true,
		"https://reg.example:5000/v2/app/blobs/1":      false,
		"https://storage.example/upload/1?sig=secret":  false,
		"http://reg.example/v2/app/blobs/uploads/1":    false, // port 80
	} {
		resp := &http.Response{StatusCode: http.StatusAccepted, Header: http.Header{"Location": {loc}}}
		err := checkUploadLocation(req, resp)
		if (err == nil) != ok {
			t.Errorf("Location %s: %v", loc, err)
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Reason != ReasonIncompleteCopy || strings.Contains(e.Message, "secret")) {
			t.Errorf("Location %s: %+v", loc, err)
		}
	}
}

// A redirect that would carry an upload's body off the target is refused.
func TestUploadRedirectStaysOnTheTarget(t *testing.T) {
	first, _ := http.NewRequest(http.MethodPatch, "https://reg.example/v2/app/blobs/uploads/1", nil)
	hop := func(to string) *http.Request {
		u, _ := url.Parse(to)
		return &http.Request{Method: http.MethodPatch, URL: u, Response: &http.Response{Request: first}}
	}
	if err := checkUploadHop(hop("https://reg.example/v2/app/blobs/uploads/2")); err != nil {
		t.Errorf("same host: %v", err)
	}
	var e *Error
	if err := checkUploadHop(hop("https://other.example/up")); !errors.As(err, &e) || e.Reason != ReasonIncompleteCopy {
		t.Errorf("other host: %v", err)
	}
}
