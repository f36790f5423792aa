package workload

import (
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// The memo answers exactly what ParseImageID answers, the second time too,
// for IDs it accepts and IDs it refuses.
func TestParseImageIDMemo(t *testing.T) {
	ids := []string{
		"docker-pullable://nginx@sha256:" + sixtyFour("a"),
		"registry.example:5000/team/app@sha256:" + sixtyFour("b"),
		"sha256:" + sixtyFour("c"),
		"",
		"not an image id",
	}
	for _, id := range ids {
		wantImg, wantOK := imageref.ParseImageID(id)
		for round := range 2 {
			if img, ok := parseImageID(id); img != wantImg || ok != wantOK {
				t.Errorf("round %d: parseImageID(%q) = %+v, %v; want %+v, %v", round, id, img, ok, wantImg, wantOK)
			}
		}
	}
}

func sixtyFour(c string) string {
	s := ""
	for range 64 {
		s += c
	}
	return s
}
