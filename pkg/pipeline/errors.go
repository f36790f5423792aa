package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"syscall"
)

// ErrorLine is the one line said for err: an unreachable API server in a
// few words, anything else with its line breaks folded.
func ErrorLine(err error) string {
	if msg, ok := apiServerUnreachable(err); ok {
		return msg
	}
	return OneLine(err.Error())
}

// apiServerUnreachable names an API server that did not answer (refused,
// cut, timed out) in a short line, instead of one "Get https://…: dial
// tcp …" per kind listed. Registry URLs (/v2/…) are left alone: their
// failures belong to the report.
func apiServerUnreachable(err error) (string, bool) {
	var uerr *url.Error
	if !errors.As(err, &uerr) || errors.Is(err, context.Canceled) {
		return "", false
	}
	u, perr := url.Parse(uerr.URL)
	if perr != nil || !(u.Path == "/version" || strings.HasPrefix(u.Path, "/api") || strings.HasPrefix(u.Path, "/openapi")) {
		return "", false
	}
	var cause string
	switch {
	case strings.Contains(uerr.Err.Error(), "getting credentials"):
		// The kubeconfig's exec or auth-provider plugin failed; its own
		// message went to stderr just before.
		return fmt.Sprintf("cannot get credentials for the API server at %s://%s: %s", u.Scheme, u.Host, OneLine(uerr.Err.Error())), true
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case uerr.Timeout() || errors.Is(err, context.DeadlineExceeded):
		cause = "timed out"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		cause = "the connection was closed"
	default:
		cause = OneLine(uerr.Err.Error())
	}
	return fmt.Sprintf("cannot reach the API server at %s://%s: %s", u.Scheme, u.Host, cause), true
}

// OneLine folds a message onto one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
