package audit

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

func running(digests ...string) []imageref.RunningImage {
	out := make([]imageref.RunningImage, len(digests))
	for i, d := range digests {
		out[i] = imageref.RunningImage{ImageID: "reg.example.com/app@" + d, Digest: d, Kind: imageref.KindManifest}
	}
	return out
}

func oneItem(t *testing.T, image string, policy corev1.PullPolicy, run []imageref.RunningImage, opts Options) Item {
	t.Helper()
	w := workload.Workload{
		Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: "web"},
		Pods:   len(run),
		Containers: []workload.Usage{{
			ContainerSpec: workload.ContainerSpec{Name: "web", Type: workload.Container, Image: image, PullPolicy: policy},
			Running:       run,
		}},
	}
	items := Evaluate([]workload.Workload{w}, opts)
	if len(items) != 1 {
		t.Fatalf("Evaluate gave %d items, want 1", len(items))
	}
	return items[0]
}

func ids(it Item) []string {
	out := make([]string, len(it.Findings))
	for i, f := range it.Findings {
		out[i] = f.ID
	}
	slices.Sort(out)
	return out
}

func TestOfflineRules(t *testing.T) {
	tests := []struct {
		name    string
		image   string
		policy  corev1.PullPolicy
		running []imageref.RunningImage
		pinning imageref.Pinning
		want    []string
	}{
		{"untagged Docker Hub image", "nginx", corev1.PullAlways, nil, imageref.PinNone,
			[]string{IDImplicitLatest, IDImplicitRegistry}},
		{"explicit latest", "reg.example.com/app:latest", corev1.PullAlways, nil, imageref.PinLatest,
			[]string{IDLatestTag}},
		{"latest with IfNotPresent is also a stale risk", "reg.example.com/app:latest", corev1.PullIfNotPresent, nil, imageref.PinLatest,
			[]string{IDLatestTag, IDPullPolicyStaleRisk}},
		{"mutable tag defaults to IfNotPresent", "reg.example.com/app:1.2", "", nil, imageref.PinTag,
			[]string{IDMutableTag, IDPullPolicyStaleRisk}},
		{"mutable tag with Always", "reg.example.com/app:1.2", corev1.PullAlways, nil, imageref.PinTag,
			[]string{IDMutableTag}},
		{"untagged defaults to Always, no stale risk", "reg.example.com/app", "", nil, imageref.PinNone,
			[]string{IDImplicitLatest}},
		{"registry with port, no tag", "registry:5000/app", corev1.PullAlways, nil, imageref.PinNone,
			[]string{IDImplicitLatest}},
		{"localhost is a registry", "localhost/app:1", corev1.PullAlways, nil, imageref.PinTag,
			[]string{IDMutableTag}},
		{"Docker Hub org image", "bitnami/redis:7.2", corev1.PullAlways, nil, imageref.PinTag,
			[]string{IDImplicitRegistry, IDMutableTag}},
		{"digest is clean, even with IfNotPresent", "reg.example.com/app@" + digestA, corev1.PullIfNotPresent, running(digestA), imageref.PinDigest,
			nil},
		{"tag@digest is the ideal", "reg.example.com/app:1.2@" + digestA, corev1.PullIfNotPresent, running(digestA, digestA), imageref.PinTagDigest,
			nil},
		{"mixed running digests", "reg.example.com/app:1.2", corev1.PullAlways, running(digestA, digestB), imageref.PinTag,
			[]string{IDMixedRunningDigests, IDMutableTag}},
		{"same digest on every pod is not mixed", "reg.example.com/app:1.2", corev1.PullAlways, running(digestA, digestA), imageref.PinTag,
			[]string{IDMutableTag}},
		{"running differs from the spec's digest", "reg.example.com/app@" + digestA, "", running(digestA, digestB), imageref.PinDigest,
			[]string{IDMixedRunningDigests, IDRunningDiffersFromSpec}},
		{"invalid: upper case repository", "reg.example.com/App:1", "", nil, imageref.PinInvalid,
			[]string{IDInvalidReference}},
		{"invalid: empty", "", "", nil, imageref.PinInvalid,
			[]string{IDInvalidReference}},
		{"invalid: bad digest", "app@sha256:123", "", nil, imageref.PinInvalid,
			[]string{IDInvalidReference}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := oneItem(t, tt.image, tt.policy, tt.running, Options{})
			if got := ids(it); !slices.Equal(got, tt.want) {
				t.Errorf("findings of %q: got %v, want %v", tt.image, got, tt.want)
			}
			if it.Pinning != tt.pinning {
				t.Errorf("pinning of %q: got %q, want %q", tt.image, it.Pinning, tt.pinning)
			}
			if (it.Reference == nil) != (tt.pinning == imageref.PinInvalid) {
				t.Errorf("reference of %q: got %+v; want it absent exactly for invalid references", tt.image, it.Reference)
			}
			for _, f := range it.Findings {
				if f.Severity != SeverityOf(f.ID) || f.Message == "" || f.Fix == "" {
					t.Errorf("finding %s is incomplete: %+v", f.ID, f)
				}
			}
		})
	}
}

func TestNormalisedReference(t *testing.T) {
	it := oneItem(t, "nginx:1.25", "", nil, Options{})
	want := Reference{Registry: "index.docker.io", Repository: "library/nginx", Tag: "1.25"}
	if it.Reference == nil || *it.Reference != want {
		t.Fatalf("reference: got %+v, want %+v", it.Reference, want)
	}
}

func TestSeveritiesMatchTheContract(t *testing.T) {
	want := map[string]Severity{
		"implicit-latest": "high", "latest-tag": "high", "mutable-tag": "medium", "implicit-registry": "low",
		"pull-policy-stale-risk": "medium", "mixed-running-digests": "high", "running-differs-from-spec": "high",
		"disallowed-registry": "high", "invalid-reference": "high", "tag-moved": "high", "unresolvable": "medium",
		"no-credentials": "high",
		// The signatures issue's contract.
		"unsigned": "medium", "signature-unverified": "low", "signed-by-unknown-key": "high",
		"signature-invalid": "high", "signature-lookup-failed": "medium",
		// The trust policy issue's contract.
		"no-trust-rule": "low", "attestation-missing": "high",
		"attestation-unverified": "high", "attestation-lookup-failed": "medium",
		// The provenance and freshness issue's contract (lookup failures
		// are ours: a failed read is never a missing value).
		"no-provenance": "low", "provenance-mismatch": "high", "image-too-old": "medium",
		"newer-patch-available": "medium", "newer-minor-available": "low", "newer-major-available": "low",
		"provenance-lookup-failed": "medium", "updates-lookup-failed": "low",
		// The vulnerabilities issue's contract (issue 27).
		"vulnerable": "high", "scan-of-other-digest": "medium", "scan-too-old": "low",
		"no-vulnerability-data": "low", "vulnerability-lookup-failed": "medium",
	}
	for id, sev := range want {
		if SeverityOf(id) != sev {
			t.Errorf("severity of %s: got %q, want %q", id, SeverityOf(id), sev)
		}
	}
	if len(Catalogue) != len(want) {
		t.Errorf("the catalogue has %d IDs, the contract %d", len(Catalogue), len(want))
	}
}

func TestAllowedRegistries(t *testing.T) {
	allowed, err := ParseAllowedRegistries([]string{"docker.io", "ghcr.io/acme", "reg.example.com:5000"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		image      string
		disallowed bool
	}{
		{"nginx:1", false}, // docker.io is index.docker.io
		{"index.docker.io/library/nginx:1", false},
		{"ghcr.io/acme/app:1", false},
		{"ghcr.io/acme:1", false},
		{"ghcr.io/acmecorp/app:1", true}, // prefix only at a "/" boundary
		{"ghcr.io/other/app:1", true},
		{"reg.example.com:5000/app:1", false},
		{"reg.example.com/app:1", true}, // ports must match
		{"quay.io/acme/app:1", true},
	}
	for _, tt := range tests {
		it := oneItem(t, tt.image, corev1.PullAlways, nil, Options{AllowedRegistries: allowed})
		if got := slices.Contains(ids(it), IDDisallowedRegistry); got != tt.disallowed {
			t.Errorf("%s: disallowed-registry = %v, want %v (findings %v)", tt.image, got, tt.disallowed, ids(it))
		}
	}
	if _, err := ParseAllowedRegistries([]string{"UPPER_case!"}); err == nil || !strings.Contains(err.Error(), "--allowed-registries") {
		t.Errorf("a bad entry: got %v, want an error naming --allowed-registries", err)
	}
}

func TestRegistryRules(t *testing.T) {
	refused := &registry.Error{Reason: registry.ReasonUnauthorized, Message: "401 from every credential", Status: 401}
	tests := []struct {
		name     string
		image    string
		running  []imageref.RunningImage
		res      registry.Result
		complete bool
		want     []string
		resolved string
	}{
		{"tag still points at what runs", "reg.example.com/app:1", running(digestA),
			registry.Result{Digest: digestA, CredentialSource: "pod-secret shop/regcred"}, true, []string{IDMutableTag}, digestA},
		{"tag moved", "reg.example.com/app:1", running(digestA, digestA),
			registry.Result{Digest: digestC}, true, []string{IDMutableTag, IDTagMoved}, digestC},
		// CRI-O reports the platform manifest of the index the tag names.
		{"pods run a platform of the index the tag points at", "reg.example.com/app:1", running(digestA),
			registry.Result{Digest: digestC, IndexManifests: []string{digestB, digestA}}, true, []string{IDMutableTag}, digestC},
		{"the index lists other manifests: moved", "reg.example.com/app:1", running(digestA),
			registry.Result{Digest: digestC, IndexManifests: []string{digestB}}, true, []string{IDMutableTag, IDTagMoved}, digestC},
		// Pods may run a platform of the index: only its list could say.
		{"the index could not be read: not known whether moved", "reg.example.com/app:1", running(digestA),
			registry.Result{Digest: digestC, MediaType: string(types.OCIImageIndex), IndexError: &registry.Error{Reason: registry.ReasonServerError, Message: "503 from the registry", Status: 503}}, true, []string{IDMutableTag, IDUnresolvable}, digestC},
		{"an index whose manifests were not read: not known whether moved", "reg.example.com/app:1", running(digestA),
			registry.Result{Digest: digestC, MediaType: string(types.DockerManifestList)}, true, []string{IDMutableTag, IDUnresolvable}, digestC},
		{"a single manifest the pods do not run: moved", "reg.example.com/app:1", running(digestA),
			registry.Result{Digest: digestC, MediaType: string(types.OCIManifestSchema1)}, true, []string{IDMutableTag, IDTagMoved}, digestC},
		{"no pods: nothing to compare", "reg.example.com/app:1", nil,
			registry.Result{Digest: digestC}, true, []string{IDMutableTag}, digestC},
		{"every credential refused", "reg.example.com/app:1", nil,
			registry.Result{Err: refused}, true, []string{IDMutableTag, IDNoCredentials}, ""},
		{"refused, but secrets unreadable: not proven", "reg.example.com/app:1", nil,
			registry.Result{Err: refused}, false, []string{IDMutableTag, IDUnresolvable}, ""},
		{"not found", "reg.example.com/app:1", nil,
			registry.Result{Err: &registry.Error{Reason: registry.ReasonNotFound, Message: "manifest unknown", Status: 404}}, true,
			[]string{IDMutableTag, IDUnresolvable}, ""},
		// A pinned private image without a pull secret fails on a new node.
		{"digest reference, every credential refused", "reg.example.com/app@" + digestA, running(digestA),
			registry.Result{Err: refused}, true, []string{IDNoCredentials}, ""},
		{"digest reference pullable", "reg.example.com/app@" + digestA, running(digestA),
			registry.Result{Digest: digestA, CredentialSource: "anonymous"}, true, nil, digestA},
		{"digest gone from the registry", "reg.example.com/app@" + digestA, nil,
			registry.Result{Err: &registry.Error{Reason: registry.ReasonNotFound, Message: "manifest unknown", Status: 404}}, true, []string{IDUnresolvable}, ""},
		{"ECR refusal mentions the node's provider", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@" + digestA, nil,
			registry.Result{Err: refused}, true, []string{IDNoCredentials}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := oneItem(t, tt.image, corev1.PullAlways, tt.running, Options{})
			ApplyResolution(&it, tt.res, tt.complete)
			if got := ids(it); !slices.Equal(got, tt.want) {
				t.Errorf("findings: got %v, want %v", got, tt.want)
			}
			if it.ResolvedDigest != tt.resolved {
				t.Errorf("resolvedDigest: got %q, want %q", it.ResolvedDigest, tt.resolved)
			}
			for _, f := range it.Findings {
				if f.ID == IDTagMoved && strings.Contains(f.Message, "could not") {
					t.Errorf("tag-moved %q: a move not proven", f.Message)
				}
				if f.ID == IDUnresolvable && tt.res.Err == nil {
					why := "its manifests were not read"
					if tt.res.IndexError != nil {
						why = "server-error: 503 from the registry"
					}
					if want := "the registry could not say whether they are platform manifests of it (" + why + "), so whether the tag moved is not known"; !strings.Contains(f.Message, want) || !strings.Contains(f.Message, "index sha256:cccccccccccc") {
						t.Errorf("unresolvable %q: want it to name the index and say %q", f.Message, want)
					}
				}
			}
			provider := strings.Contains(tt.image, ".dkr.ecr.")
			for _, f := range it.Findings {
				if f.ID == IDNoCredentials && strings.Contains(f.Message, "credential provider") != provider {
					t.Errorf("no-credentials message %q: mentions a node credential provider = %v, want %v", f.Message, !provider, provider)
				}
			}
		})
	}
}

func TestApplyRunningPods(t *testing.T) {
	refused := registry.Result{Err: &registry.Error{Reason: registry.ReasonUnauthorized, Message: "401", Status: 401}}
	ok := registry.Result{Digest: digestA}
	tests := []struct {
		name        string
		template    registry.Result
		pods        []PodsView
		wantIDs     []string
		wantMessage string // in the no-credentials finding
		wantFix     string
	}{
		{"running pods lack the secret new pods get", ok, []PodsView{{Secrets: nil, Result: refused, Known: true}},
			[]string{IDNoCredentials}, "the running pods were created with pull secrets (none)", "rollout restart deployment/web"},
		{"the template lost a secret the pods still have", refused, []PodsView{{Secrets: []string{"old"}, Result: ok, Known: true}},
			[]string{IDNoCredentials}, "still pull with the secrets they were created with ([old])", "add the secret to the template"},
		{"both refused: one finding", refused, []PodsView{{Secrets: []string{"old"}, Result: refused, Known: true}},
			[]string{IDNoCredentials}, "own pull secrets ([old]) are refused too", "add an imagePullSecret"},
		{"unreadable secrets prove nothing", ok, []PodsView{{Secrets: []string{"x"}, Result: refused, Known: false}},
			nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := oneItem(t, "reg.example.com/app@"+digestA, corev1.PullIfNotPresent, running(digestA), Options{})
			it.Kind, it.Name, it.Namespace = "Deployment", "web", "shop"
			ApplyResolution(&it, tt.template, true)
			ApplyRunningPods(&it, []string{"regcred"}, tt.pods)
			if got := ids(it); !slices.Equal(got, tt.wantIDs) {
				t.Fatalf("findings: got %v, want %v", got, tt.wantIDs)
			}
			for _, f := range it.Findings {
				if !strings.Contains(f.Message, tt.wantMessage) || !strings.Contains(f.Fix, tt.wantFix) {
					t.Errorf("finding %s: message %q fix %q; want %q and %q", f.ID, f.Message, f.Fix, tt.wantMessage, tt.wantFix)
				}
			}
		})
	}
}

func TestReportSummaryAndFailOn(t *testing.T) {
	clean := oneItem(t, "reg.example.com/app@"+digestA, "", nil, Options{})
	low := oneItem(t, "library/app@"+digestA, "", nil, Options{}) // implicit-registry only
	rep := NewReport("imgtrust.dev/v1alpha1", []Item{clean, low}, false, nil)
	if rep.Summary.Findings[SeverityLow] != 1 || rep.Summary.ByID[IDImplicitRegistry] != 1 || rep.Summary.Images != 2 {
		t.Fatalf("summary: got %+v", rep.Summary)
	}
	for threshold, want := range map[Severity]bool{SeverityNone: false, SeverityLow: true, SeverityMedium: false, SeverityHigh: false} {
		if got := rep.Exceeds(threshold); got != want {
			t.Errorf("Exceeds(%s): got %v, want %v", threshold, got, want)
		}
	}
	if _, err := ParseSeverity("critical"); err == nil {
		t.Error("ParseSeverity(critical): want an error")
	}
}

func TestApplySignatures(t *testing.T) {
	sig := func(s signature.Status) signature.Result {
		return signature.Result{Status: s, Digest: digestA, Error: "x", Artifacts: []signature.Artifact{{Format: signature.FormatCosignSig, SignedBy: "k"}}}
	}
	tests := []struct {
		results []signature.Status
		require bool
		want    []string
		sev     Severity
	}{
		{[]signature.Status{signature.StatusVerified}, false, nil, ""},
		{[]signature.Status{signature.StatusUnsigned}, false, []string{IDUnsigned}, SeverityMedium},
		{[]signature.Status{signature.StatusUnsigned}, true, []string{IDUnsigned}, SeverityHigh},
		{[]signature.Status{signature.StatusUnverified}, false, []string{IDSignatureUnverified}, SeverityLow},
		{[]signature.Status{signature.StatusOtherKey}, false, []string{IDSignedByUnknownKey}, SeverityHigh},
		{[]signature.Status{signature.StatusInvalid}, false, []string{IDSignatureInvalid}, SeverityHigh},
		{[]signature.Status{signature.StatusLookupFailed}, false, []string{IDSignatureLookupFailed}, SeverityMedium},
		// Mixed running digests: the worst stands for the item.
		{[]signature.Status{signature.StatusVerified, signature.StatusOtherKey}, false, []string{IDSignedByUnknownKey}, SeverityHigh},
	}
	for _, tt := range tests {
		it := oneItem(t, "reg.example.com/app@"+digestA, corev1.PullIfNotPresent, nil, Options{})
		var rs []signature.Result
		for _, s := range tt.results {
			rs = append(rs, sig(s))
		}
		ApplySignatures(&it, rs, DigestFromSpec, SignaturePolicy{Require: tt.require})
		if got := ids(it); !slices.Equal(got, tt.want) {
			t.Errorf("%v: findings %v, want %v", tt.results, got, tt.want)
		}
		if len(it.Findings) > 0 && it.Findings[0].Severity != tt.sev {
			t.Errorf("%v: severity %s, want %s", tt.results, it.Findings[0].Severity, tt.sev)
		}
		if it.Signature == nil || it.Signature.DigestFrom != DigestFromSpec {
			t.Errorf("%v: signature %+v, want it recorded with its digest's origin", tt.results, it.Signature)
		}
	}
}

// An invalid signature's finding gives the reason the checker found
// (such as a legacy signature no key can have made).
func TestSignatureInvalidSaysWhy(t *testing.T) {
	it := oneItem(t, "reg.example.com/app@"+digestA, corev1.PullIfNotPresent, nil, Options{})
	const why = "the signature is not valid base64"
	ApplySignatures(&it, []signature.Result{{Status: signature.StatusInvalid, Digest: digestA, Error: why}}, DigestFromSpec, SignaturePolicy{})
	if got := ids(it); !slices.Equal(got, []string{IDSignatureInvalid}) {
		t.Fatalf("findings %v, want %s", got, IDSignatureInvalid)
	}
	if msg := it.Findings[0].Message; !strings.Contains(msg, why) {
		t.Errorf("message %q does not say %q", msg, why)
	}
}

// The fix for another signer names the flag that would add it: a
// Notation signer's CA (--trust-cert), a cosign key (--verify-key).
func TestOtherKeyFixNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		formats []string
		want    string
	}{
		{[]string{signature.FormatNotation}, "(--trust-cert)"},
		{[]string{"cosign"}, "(--verify-key)"},
		{[]string{signature.FormatNotation, "cosign"}, "(--verify-key, --trust-cert)"},
	} {
		it := oneItem(t, "reg.example.com/app@"+digestA, corev1.PullIfNotPresent, nil, Options{})
		res := signature.Result{Status: signature.StatusOtherKey, Digest: digestA}
		for _, f := range tc.formats {
			res.Artifacts = append(res.Artifacts, signature.Artifact{Format: f, SignedBy: "someone"})
		}
		ApplySignatures(&it, []signature.Result{res}, DigestFromSpec, SignaturePolicy{})
		if got := ids(it); !slices.Equal(got, []string{IDSignedByUnknownKey}) {
			t.Fatalf("%v: findings %v, want %s", tc.formats, got, IDSignedByUnknownKey)
		}
		if fix := it.Findings[0].Fix; !strings.HasSuffix(fix, tc.want) {
			t.Errorf("%v: fix %q, want it to end %q", tc.formats, fix, tc.want)
		}
	}
}

// Fixes fit where the image came from: a file command for -f, and for a
// custom kind the resource kubectl will not confuse with a built-in one.
func TestFixesFitTheInput(t *testing.T) {
	spec := &workload.PodSpec{Containers: []workload.ContainerSpec{{Name: "user-container", Type: workload.Container, Image: "ghcr.io/acme/hello:1", Path: "/spec/template/spec/containers/0/image"}}}
	tests := []struct {
		name   string
		object workload.Object
		want   string
	}{
		{"Knative Service, live", workload.Object{APIVersion: "serving.knative.dev/v1", Kind: "Service", Namespace: "web", Name: "hello", Resource: "services.serving.knative.dev", Spec: spec},
			"kubectl imgtrust pin services.serving.knative.dev/hello -n web"},
		{"Deployment, live", workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "web", Name: "hello", Spec: spec},
			"kubectl imgtrust pin deployment/hello -n web"},
		{"manifest", workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello", Source: "k8s/app dir/web.yaml", Spec: spec},
			"kubectl imgtrust pin -f 'k8s/app dir/web.yaml' --write"},
	}
	for _, tt := range tests {
		w := workload.Workload{Object: tt.object, Containers: []workload.Usage{{ContainerSpec: spec.Containers[0]}}}
		items := Evaluate([]workload.Workload{w}, Options{})
		if len(items) != 1 || len(items[0].Findings) == 0 || !strings.Contains(items[0].Findings[0].Fix, tt.want) {
			t.Errorf("%s: findings %+v, want a fix with %q", tt.name, items, tt.want)
		}
	}
}

// A custom resource's image is pinned from the registry (no pod reports
// its digest under its name); a run, which cannot change, by its manifest.
func TestFixesForCustomResources(t *testing.T) {
	step := workload.ContainerSpec{Name: "steps/build", Type: workload.ResourceImage, Image: "ghcr.io/acme/build:1", Path: "/spec/steps/0/image"}
	yes := true
	for _, tt := range []struct {
		object workload.Object
		want   string
	}{
		{workload.Object{APIVersion: "tekton.dev/v1", Kind: "Task", Namespace: "ci", Name: "build", Resource: "tasks.tekton.dev", FromRules: true},
			"kubectl imgtrust pin tasks.tekton.dev/build -n ci --source=registry"},
		{workload.Object{APIVersion: "tekton.dev/v1", Kind: "TaskRun", Namespace: "ci", Name: "build-1", Resource: "taskruns.tekton.dev", FromRules: true},
			"kubectl imgtrust pin -f <file> --write"},
		{workload.Object{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "monitoring", Name: "prometheus-k8s", Owner: &metav1.OwnerReference{APIVersion: "monitoring.coreos.com/v1", Kind: "Prometheus", Name: "k8s", Controller: &yes}},
			"kubectl imgtrust pin prometheus.monitoring.coreos.com/k8s -n monitoring --source=registry"},
		{workload.Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "db", Name: "pg", Owner: &metav1.OwnerReference{APIVersion: "acid.zalan.do/v1", Kind: "Postgresql", Name: "main", Controller: &yes}},
			"kubectl imgtrust pin postgresql.acid.zalan.do/main -n db --source=registry --image-paths FILE"},
	} {
		w := workload.Workload{Object: tt.object, Containers: []workload.Usage{{ContainerSpec: step}}}
		items := Evaluate([]workload.Workload{w}, Options{})
		if len(items) != 1 || len(items[0].Findings) == 0 || !strings.Contains(items[0].Findings[0].Fix, tt.want) {
			t.Errorf("%s: findings %+v, want a fix with %q", tt.object.Kind, items, tt.want)
		}
		if tt.object.Owner != nil && items[0].ControlledBy != strings.ToLower(tt.object.Owner.Kind)+"."+strings.Split(tt.object.Owner.APIVersion, "/")[0]+"/"+tt.object.Owner.Name {
			t.Errorf("%s: controlledBy %q", tt.object.Name, items[0].ControlledBy)
		}
	}
}

func TestInvalidReferenceHints(t *testing.T) {
	for image, want := range map[string]string{
		"ko://github.com/acme/cmd/web": "ko resolve",
		"{{ .Values.image }}":          "render it first",
		"$(params.image)":              "substitute",
		"ghcr.io/acme/web:1:2":         "correct the image field",
	} {
		w := workload.Workload{Object: workload.Object{Kind: "Pod", Name: "p"}, Containers: []workload.Usage{{ContainerSpec: workload.ContainerSpec{Name: "a", Image: image}}}}
		items := Evaluate([]workload.Workload{w}, Options{})
		if f := items[0].Findings; len(f) != 1 || f[0].ID != IDInvalidReference || !strings.Contains(f[0].Fix, want) {
			t.Errorf("%q: findings %+v, want invalid-reference with %q", image, f, want)
		}
	}
}

// With a trust policy, each verdict is said against the image's rule.
func TestApplySignaturesWithATrustPolicy(t *testing.T) {
	rule := "rules[1] (registry.acme.example/**)"
	tests := []struct {
		name   string
		status signature.Status
		policy SignaturePolicy
		want   string // finding ID and severity, or "" for none
		text   string
	}{
		{"uncovered", "", SignaturePolicy{Uncovered: true, Source: "trust.yaml"}, "no-trust-rule/low", "no rule of trust.yaml covers"},
		{"other authority", signature.StatusOtherKey, SignaturePolicy{Rule: rule, Action: trustpolicy.ActionVerify, Source: "trust.yaml"}, "signed-by-unknown-key/high", "not by an authority " + rule + " of trust.yaml names"},
		{"unsigned under require", signature.StatusUnsigned, SignaturePolicy{Rule: rule, Action: trustpolicy.ActionRequire, Source: "trust.yaml"}, "unsigned/high", "no cosign or Notation signature"},
		{"unsigned under verify", signature.StatusUnsigned, SignaturePolicy{Rule: rule, Action: trustpolicy.ActionVerify, Source: "trust.yaml"}, "unsigned/medium", "no cosign or Notation signature"},
		{"signed under report-unsigned", signature.StatusUnverified, SignaturePolicy{Rule: "rules[2] (**)", Action: trustpolicy.ActionReportUnsigned, Source: "trust.yaml"}, "", ""},
		{"verified", signature.StatusVerified, SignaturePolicy{Rule: rule, Action: trustpolicy.ActionVerify, Source: "trust.yaml"}, "", ""},
	}
	for _, tt := range tests {
		it := oneItem(t, "registry.acme.example/web@sha256:"+strings.Repeat("a", 64), "", nil, Options{})
		it.Findings = nil
		var rs []signature.Result
		if tt.status != "" {
			rs = []signature.Result{{Status: tt.status, Digest: digestA}}
		}
		ApplySignatures(&it, rs, DigestFromSpec, tt.policy)
		got := ""
		for _, f := range it.Findings {
			got = f.ID + "/" + string(f.Severity)
			if !strings.Contains(f.Message, tt.text) {
				t.Errorf("%s: message %q, want %q in it", tt.name, f.Message, tt.text)
			}
		}
		if got != tt.want || len(it.Findings) > 1 {
			t.Errorf("%s: findings %+v, want %q", tt.name, it.Findings, tt.want)
		}
		if tt.status != "" && (it.Signature == nil || it.Signature.Rule != tt.policy.Rule) {
			t.Errorf("%s: signature %+v, want its rule %q", tt.name, it.Signature, tt.policy.Rule)
		}
	}
}

// TestImageVolumeRules: an image volume is audited like a container image,
// its pullPolicy defaulted by the same rule; with no running digests (pod
// statuses have none for volumes) no running rule fires, and the fixes
// name its field and pin -f, since pin does not patch them live.
func TestImageVolumeRules(t *testing.T) {
	tests := []struct {
		image  string
		policy corev1.PullPolicy
		want   []string
	}{
		{"ghcr.io/org/data:1", "", []string{IDMutableTag, IDPullPolicyStaleRisk}},
		{"ghcr.io/org/data:1", corev1.PullAlways, []string{IDMutableTag}},
		{"ghcr.io/org/data", "", []string{IDImplicitLatest}},
		{"data:latest", "", []string{IDImplicitRegistry, IDLatestTag}},
		{"ghcr.io/org/data:1@" + digestA, "", nil},
	}
	for _, tt := range tests {
		w := workload.Workload{
			Object: workload.Object{Kind: "Deployment", Namespace: "shop", Name: "web"},
			Pods:   2,
			Containers: []workload.Usage{{ContainerSpec: workload.ContainerSpec{
				Name: "data", Type: workload.ImageVolume, Image: tt.image, PullPolicy: tt.policy,
				Path: "/spec/template/spec/volumes/0/image/reference",
			}}},
		}
		it := Evaluate([]workload.Workload{w}, Options{})[0]
		if got := ids(it); !slices.Equal(got, tt.want) {
			t.Errorf("%s %q: findings %v, want %v", tt.image, tt.policy, got, tt.want)
		}
		if it.ContainerType != workload.ImageVolume || it.Container != "data" || len(it.RunningDigests) != 0 {
			t.Errorf("%s: item %+v", tt.image, it)
		}
		for _, f := range it.Findings {
			if strings.Contains(f.Message+f.Fix, "imagePullPolicy") || strings.Contains(f.Fix, "pin deployment/web") && !strings.Contains(f.Fix, "pin deployment/web -n shop --source=registry") {
				t.Errorf("%s %s: %s / %s", tt.image, f.ID, f.Message, f.Fix)
			}
			if f.ID == IDPullPolicyStaleRisk && !strings.Contains(f.Fix, "pullPolicy: Always") {
				t.Errorf("%s fix %q does not name pullPolicy", f.ID, f.Fix)
			}
		}
	}
}

// A lookup the request budget cut short is fixed by raising the budget or
// cleaning up the referrers, not by checking the registry's access (it
// answered); any other failure keeps the registry fix.
func TestLookupFailedFixNamesTheBudget(t *testing.T) {
	const spent = "8 of 70 referrers to classify read, 62 skipped (the rest not read: the image's 64 artifact reads (--max-artifact-requests) were spent by its earlier reads), and none of those read verifies"
	for _, tt := range []struct {
		name    string
		res     signature.Result
		want    []string
		notWant string
	}{
		{"skipped reads", signature.Result{Status: signature.StatusLookupFailed, Digest: digestA, Error: spent, ReadsSkipped: 62},
			[]string{"raise --max-artifact-requests", "(62 reads were not sent)", "clean up the image's referrers"}, "pull secret"},
		{"a read refused by the budget", signature.Result{Status: signature.StatusLookupFailed, Digest: digestA, Error: "request-budget: r/app:sha256-1.sig not read: …"},
			[]string{"raise --max-artifact-requests"}, "pull secret"},
		{"the registry refused", signature.Result{Status: signature.StatusLookupFailed, Digest: digestA, Error: "forbidden: 403 Forbidden"},
			[]string{"check the registry and the pull secret's access"}, "--max-artifact-requests"},
		{"a required attestation cut by the budget", signature.Result{Status: signature.StatusVerified, Digest: digestA,
			Required: []signature.Required{{PredicateType: "https://slsa.dev/provenance/v1", Status: signature.RequiredLookupFailed, Problem: spent}}},
			[]string{"raise --max-artifact-requests"}, "pull secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			it := oneItem(t, "reg.example.com/app@"+digestA, corev1.PullIfNotPresent, nil, Options{})
			ApplySignatures(&it, []signature.Result{tt.res}, DigestFromSpec, SignaturePolicy{Rule: "rules[0]", Source: "policy.yaml"})
			if len(it.Findings) != 1 {
				t.Fatalf("findings %v, want one lookup failure", ids(it))
			}
			fix := it.Findings[0].Fix
			for _, w := range tt.want {
				if !strings.Contains(fix, w) {
					t.Errorf("fix %q does not say %q", fix, w)
				}
			}
			if strings.Contains(fix, tt.notWant) {
				t.Errorf("fix %q says %q", fix, tt.notWant)
			}
		})
	}
}
