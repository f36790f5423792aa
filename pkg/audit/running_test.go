package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// Under CRI-O a pod reports the platform manifest it runs, a child of the
// index its spec's tag or digest points at: that is neither a mix nor a
// drift from the spec. Once the index is read they are not flagged; what
// is not its child still is; what could not be checked says so.
func TestRunningPlatformsOfAnIndex(t *testing.T) {
	const (
		index  = digestA
		amd64  = digestB
		arm64  = digestC
		other  = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		other2 = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	)
	indexOf := func(children ...string) registry.Result {
		return registry.Result{Digest: index, MediaType: string(types.OCIImageIndex), IndexManifests: children}
	}
	down := &registry.Error{Reason: registry.ReasonServerError, Message: "503 Service Unavailable"}
	tests := []struct {
		name    string
		image   string
		running []string
		res     *registry.Result // nil: offline, only the rules
		want    []string
		says    string // in the remaining finding's message
	}{
		{"offline: pinned, pods run another digest", "reg.example.com/app@" + index, []string{amd64}, nil,
			[]string{IDRunningDiffersFromSpec}, "they may be platform manifests of a multi-arch index the spec points at, which cannot be checked offline"},
		{"offline: two digests of a tag", "reg.example.com/app:1", []string{amd64, arm64}, nil,
			[]string{IDMixedRunningDigests, IDMutableTag, IDPullPolicyStaleRisk}, "cannot be checked offline"},
		{"pinned to an index, pods run one platform", "reg.example.com/app@" + index, []string{amd64}, ptr(indexOf(amd64, arm64)),
			nil, ""},
		{"pinned to an index, pods run two platforms", "reg.example.com/app@" + index, []string{amd64, arm64}, ptr(indexOf(amd64, arm64)),
			nil, ""},
		{"pinned to an index, pods run the index and a platform", "reg.example.com/app@" + index, []string{index, arm64}, ptr(indexOf(amd64, arm64)),
			nil, ""},
		{"pinned to an index, one pod runs something else", "reg.example.com/app@" + index, []string{amd64, other}, ptr(indexOf(amd64, arm64)),
			[]string{IDMixedRunningDigests, IDRunningDiffersFromSpec}, "sha256:dddddddddddd"},
		{"tag on an index, pods on two platforms", "reg.example.com/app:1", []string{amd64, arm64}, ptr(indexOf(amd64, arm64)),
			[]string{IDMutableTag, IDPullPolicyStaleRisk}, ""},
		{"tag on an index, pods run children of two indexes", "reg.example.com/app:1", []string{amd64, other}, ptr(indexOf(amd64, arm64)),
			[]string{IDMixedRunningDigests, IDMutableTag, IDPullPolicyStaleRisk}, "the pods run 2 different images"},
		{"tag moved: pods run two platforms of an old index", "reg.example.com/app:1", []string{other, other2}, ptr(indexOf(amd64, arm64)),
			[]string{IDMixedRunningDigests, IDMutableTag, IDPullPolicyStaleRisk, IDTagMoved}, "the pods run 2 different images"},
		{"pinned to a single manifest, pods run another", "reg.example.com/app@" + index, []string{amd64},
			&registry.Result{Digest: index, MediaType: string(types.OCIManifestSchema1)},
			[]string{IDRunningDiffersFromSpec}, "but pods run sha256:bbbbbbbbbbbb"},
		// What could not be checked online is not proven: unresolvable
		// (medium), once per item, never a high mix or drift.
		{"the index could not be read", "reg.example.com/app@" + index, []string{amd64},
			&registry.Result{Digest: index, MediaType: string(types.OCIImageIndex), IndexError: down},
			[]string{IDUnresolvable}, "the pods run sha256:bbbbbbbbbbbb and the spec names sha256:aaaaaaaaaaaa; whether they are platform manifests of the index sha256:aaaaaaaaaaaa could not be checked (server-error: 503 Service Unavailable), so whether they run another image than the spec names is not known"},
		{"the index was not read", "reg.example.com/app@" + index, []string{amd64, arm64},
			&registry.Result{Digest: index, MediaType: string(types.OCIImageIndex)},
			[]string{IDUnresolvable}, "could not be checked (its manifests were not read), so whether they run different images, or another image than the spec names, is not known"},
		{"the registry did not answer", "reg.example.com/app@" + index, []string{amd64},
			&registry.Result{Err: down},
			[]string{IDUnresolvable}, "the registry could not say whether this pod can pull sha256:aaaaaaaaaaaa: server-error: 503 Service Unavailable; the pods run sha256:bbbbbbbbbbbb and the spec names sha256:aaaaaaaaaaaa; whether they are platform manifests of a multi-arch index the reference points at could not be checked"},
		{"a tag's index could not be read, pods on two digests", "reg.example.com/app:1", []string{amd64, arm64},
			&registry.Result{Digest: index, MediaType: string(types.OCIImageIndex), IndexError: down},
			[]string{IDMutableTag, IDPullPolicyStaleRisk, IDUnresolvable}, "so whether the tag moved is not known; for the same reason, whether they run different images is not known"},
		// Proven without the index: a single manifest is no index.
		{"a tag on a single manifest, pods on two digests", "reg.example.com/app:1", []string{index, amd64},
			&registry.Result{Digest: index, MediaType: string(types.OCIManifestSchema1)},
			[]string{IDMixedRunningDigests, IDMutableTag, IDPullPolicyStaleRisk}, "the pods run 2 different images"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := oneItem(t, tt.image, "", running(tt.running...), Options{})
			if tt.res != nil {
				ApplyResolution(&it, *tt.res, true)
			}
			if got := ids(it); !slices.Equal(got, tt.want) {
				t.Fatalf("findings: got %v, want %v", got, tt.want)
			}
			for _, f := range it.Findings {
				if f.ID != IDMixedRunningDigests && f.ID != IDRunningDiffersFromSpec && f.ID != IDUnresolvable {
					continue
				}
				if !strings.Contains(f.Message, tt.says) {
					t.Errorf("%s says %q, want it to say %q", f.ID, f.Message, tt.says)
				}
				if tt.res != nil && strings.Contains(f.Message, "offline") {
					t.Errorf("%s online says %q", f.ID, f.Message)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
