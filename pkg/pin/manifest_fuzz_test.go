package pin

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzPinManifest checks the manifest rewriter on arbitrary bytes: it never
// panics, changes nothing but image strings (removing the inserted digests
// gives the input back), and a second pass over its output changes nothing.
func FuzzPinManifest(f *testing.F) {
	for _, seed := range []string{
		"kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx:1.25\n",
		"kind: Pod\nspec:\n  containers:\n  - {name: a, image: 'ghcr.io/x/y'}\n  initContainers:\n  - name: i\n    image: \"busybox\"\n",
		"apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec: {containers: [{image: redis}]}\n",
		"kind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - image: a/b:c # comment\n",
		"{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"image\":\"nginx\"}]}}",
		"kind: Deployment\nx: &c {image: nginx}\nspec:\n  template:\n    spec:\n      containers:\n      - <<: *c\n        name: a\n",
		"---\nkind: Pod\nspec:\n  containers:\n  - image: nginx\r\n---\n",
		aliasBomb(12),
		"kind: Pod\nspec:\n  containers:\n  - image: {{ .Values.image }}\n",
	} {
		f.Add([]byte(seed))
	}
	pinTo := func(image string) (string, error) { return PinnedImage(image, digA, false) }
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(data, []byte(digA)) {
			return // the invariant below removes digA
		}
		res, err := PinManifest(data, pinTo)
		if err != nil {
			if !bytes.Equal(res.Data, data) {
				t.Fatalf("error %v, but Data changed", err)
			}
			return
		}
		if got := strings.ReplaceAll(string(res.Data), "@"+digA, ""); got != string(data) {
			t.Fatalf("more than image strings changed:\nin:  %q\nout: %q", data, res.Data)
		}
		again, err := PinManifest(res.Data, pinTo)
		if err != nil {
			t.Fatalf("second pass over our own output failed: %v", err)
		}
		if len(again.Edits) != 0 || !bytes.Equal(again.Data, res.Data) {
			t.Fatalf("second pass changed %d images:\n%q\n→ %q", len(again.Edits), res.Data, again.Data)
		}
	})
}
