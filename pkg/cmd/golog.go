package cmd

import (
	"log"

	"k8s.io/klog/v2"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// routeGoLog sends what Go's default logger prints to klog at -v=4, one
// bounded, redacted line each. net/http logs there on its own, e.g.
// "Unsolicited response received on idle HTTP channel" followed by
// kilobytes of a registry's bytes, which must not reach a user's stderr.
func routeGoLog() {
	log.SetFlags(0)
	log.SetOutput(goLogWriter{})
}

type goLogWriter struct{}

func (goLogWriter) Write(p []byte) (int, error) {
	if v := klog.V(4); v.Enabled() {
		v.InfoS("go library log", "line", registry.SafeLine(string(p), 200))
	}
	return len(p), nil
}
