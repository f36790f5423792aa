package pin

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// aliasBomb is a manifest whose merge keys double at each level: tiny on
// disk, 2^levels nodes to a YAML reader.
func aliasBomb(levels int) string {
	var b strings.Builder
	b.WriteString("kind: Deployment\nx0: &a0 {image: nginx}\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "x%d: &a%d {<<: [*a%d, *a%d]}\n", i, i, i-1, i-1)
	}
	fmt.Fprintf(&b, "spec:\n  template:\n    spec:\n      containers:\n      - <<: *a%d\n        name: web\n", levels)
	return b.String()
}

func TestPinManifestRefusesAliasBombs(t *testing.T) {
	data := aliasBomb(28)
	if len(data) > 1200 {
		t.Fatalf("bomb is %d bytes, want a small file", len(data))
	}
	calls := 0
	_, err := PinManifest([]byte(data), func(string) (string, error) { calls++; return "", errors.New("not called") })
	if !errors.Is(err, ErrNotYAML) || !strings.Contains(err.Error(), "aliases and merge keys") {
		t.Fatalf("PinManifest(bomb) error = %v, want a refusal naming aliases and merge keys", err)
	}
	if calls != 0 {
		t.Errorf("resolver called %d times, want 0 (nothing is half-done)", calls)
	}
}

func TestPinManifestKeepsModestAliases(t *testing.T) {
	// Ten levels: 1,024 nodes, well within the bound; the merged image is pinned.
	res, err := PinManifest([]byte(aliasBomb(10)), func(image string) (string, error) { return image + "@" + digA, nil })
	if err != nil {
		t.Fatalf("PinManifest() error = %v", err)
	}
	if len(res.Edits) != 1 || !strings.Contains(string(res.Data), "nginx@"+digA) {
		t.Errorf("edits = %+v, want the one merged image pinned", res.Edits)
	}
}

func BenchmarkPinManifestAliasBomb(b *testing.B) {
	data := []byte(aliasBomb(28))
	for b.Loop() {
		_, _ = PinManifest(data, func(string) (string, error) { return "", errors.New("x") })
	}
}
