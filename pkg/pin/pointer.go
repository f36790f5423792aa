package pin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// The pod-spec list fields that hold containers, with their container type.
var containerFields = map[string]workload.ContainerType{
	"containers":          workload.Container,
	"initContainers":      workload.InitContainer,
	"ephemeralContainers": workload.EphemeralContainer,
}

// imagePath is a parsed ".../<field>/<index>/image" JSON pointer, or an
// image volume's ".../volumes/<index>/image/reference".
type imagePath struct {
	spec  []string // tokens of the pod spec, e.g. [spec template spec]
	field string   // containers, initContainers, ephemeralContainers or volumes
	index int
}

// volumesField holds image volumes, merged by name like containers.
const volumesField = "volumes"

// parseImagePath reads the pointer of a container's image field. The pod
// spec's location is whatever precedes the container list, so templates of
// any kind (CRDs included) work without a table of kinds.
func parseImagePath(pointer string) (imagePath, error) {
	tokens, err := manifest.SplitPointer(pointer)
	if err != nil {
		return imagePath{}, err
	}
	n := len(tokens)
	if n >= 4 && tokens[n-1] == "reference" && tokens[n-2] == "image" && tokens[n-4] == volumesField {
		index, err := listIndex(tokens[n-3], pointer)
		return imagePath{spec: tokens[:n-4], field: volumesField, index: index}, err
	}
	if n < 3 || tokens[n-1] != "image" {
		return imagePath{}, fmt.Errorf("path %q does not end in <containers>/<index>/image", pointer)
	}
	if _, ok := containerFields[tokens[n-3]]; !ok {
		return imagePath{}, fmt.Errorf("path %q is not in a containers, initContainers or ephemeralContainers list", pointer)
	}
	index, err := listIndex(tokens[n-2], pointer)
	return imagePath{spec: tokens[:n-3], field: tokens[n-3], index: index}, err
}

func listIndex(token, pointer string) (int, error) {
	index, err := strconv.Atoi(token)
	if err != nil || index < 0 || strconv.Itoa(index) != token {
		return 0, fmt.Errorf("path %q has no valid list index", pointer)
	}
	return index, nil
}

// formatPointer joins tokens into an RFC 6901 JSON pointer.
func formatPointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
