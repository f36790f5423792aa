package pin

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// digestOf is a made-up but well-formed digest, stable per seed.
func digestOf(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var (
	digA = digestOf("a")
	digB = digestOf("b")
)

// manifestRun is a pod status entry running repo@digest, read as
// workload reads pod statuses.
func manifestRun(repo, digest string) imageref.RunningImage {
	r, _ := imageref.ParseImageID(repo + "@" + digest)
	return r
}

// configRun is a pod status entry holding only a config digest.
func configRun(digest string) imageref.RunningImage {
	r, _ := imageref.ParseImageID(digest)
	return r
}

func usage(typ workload.ContainerType, name, image, path string, running ...imageref.RunningImage) workload.Usage {
	return workload.Usage{
		ContainerSpec: workload.ContainerSpec{Name: name, Type: typ, Image: image, Path: path},
		Running:       running,
	}
}

func short(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, digA, "<A>"), digB, "<B>")
}
