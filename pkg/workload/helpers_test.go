package workload

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// Digests used throughout the tests; the letter is the repeated hex digit.
const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

// mustUnstructured decodes one YAML (or JSON) object.
func mustUnstructured(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("decoding test object: %v\n%s", err, doc)
	}
	return &unstructured.Unstructured{Object: m}
}

// controller is a controlling owner reference.
func controller(kind, name string, uid types.UID) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{Kind: kind, Name: name, UID: uid, Controller: &yes}
}

// runningManifest is a running image reported as repo@digest.
func runningManifest(repo, digest string) imageref.RunningImage {
	return imageref.RunningImage{ImageID: repo + "@" + digest, Digest: digest, Kind: imageref.KindManifest}
}

// config is a running image reported as a bare config digest.
func config(digest string) imageref.RunningImage {
	return imageref.RunningImage{ImageID: digest, Digest: digest, Kind: imageref.KindConfig}
}

// specOf is a slim pod spec with the given containers ("name=image"), at the
// template path of kind.
func specOf(kind string, containers ...string) *PodSpec {
	prefix := "/" + strings.Join(podSpecPaths[kind], "/")
	s := &PodSpec{}
	counts := map[ContainerType]int{}
	for _, c := range containers {
		t := Container
		field := "containers"
		switch {
		case strings.HasPrefix(c, "init:"):
			t, field, c = InitContainer, "initContainers", strings.TrimPrefix(c, "init:")
		case strings.HasPrefix(c, "ephemeral:"):
			t, field, c = EphemeralContainer, "ephemeralContainers", strings.TrimPrefix(c, "ephemeral:")
		}
		name, image, _ := strings.Cut(c, "=")
		s.Containers = append(s.Containers, ContainerSpec{
			Name: name, Type: t, Image: image,
			Path: fmt.Sprintf("%s/%s/%d/image", prefix, field, counts[t]),
		})
		counts[t]++
	}
	return s
}
