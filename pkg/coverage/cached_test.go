package coverage

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestCachedPullKubeletVersions(t *testing.T) {
	image := priv + "/team/app"
	cfg := func(policy string, gates map[string]bool, allow ...string) *KubeletConfig {
		return &KubeletConfig{Policy: policy, FeatureGates: gates, Allowlist: allow}
	}
	tests := []struct {
		name    string
		nodes   Nodes
		want    cacheCheck
		why     string
		note    string // "" when no assumption is said
		hasNote bool
	}{
		{"1.34 keeps cached images usable", Nodes{Kubelets: map[string]Kubelet{"n": {Version: "v1.34.3"}}}, cacheShared, "off by default before 1.35", "", false},
		{"1.35.0 is the first that re-checks", Nodes{Kubelets: map[string]Kubelet{"n": {Version: "v1.35.0"}}}, cacheRechecks, "on by default since 1.35", "NeverVerifyPreloadedImages", true},
		{"1.37 re-checks", Nodes{Kubelets: map[string]Kubelet{"n": {Version: "v1.37.1"}}}, cacheRechecks, "imagePullCredentialsVerificationPolicy NeverVerifyPreloadedImages, the default", "--read-kubelet-config", true},
		{"a vendor suffix parses", Nodes{Kubelets: map[string]Kubelet{"n": {Version: "v1.35.2-eks-4a1b2c3"}}}, cacheRechecks, "v1.35.2-eks-4a1b2c3", "", true},
		{"1.34.99 is still before 1.35", Nodes{Kubelets: map[string]Kubelet{"n": {Version: "v1.34.99"}}}, cacheShared, "v1.34.99", "", false},
		{"an unparsable version is unknown", Nodes{Kubelets: map[string]Kubelet{"n": {Version: "banana"}}}, cacheUnknown, `kubelet version "banana", which does not parse`, "", false},
		{"an empty version is unknown", Nodes{Kubelets: map[string]Kubelet{"n": {}}}, cacheUnknown, `kubelet version "", which does not parse`, "", false},
		{"a node read failing is unknown", Nodes{Kubelets: map[string]Kubelet{"n": {ReadError: "the server has received too many requests"}}}, cacheUnknown, "node n could not be read (the server has received too many requests)", "", false},
		{"a node not found is unknown", Nodes{Kubelets: map[string]Kubelet{}}, cacheUnknown, "node n was not found", "", false},
		// RBAC hiding a node proves nothing of its kubelet: unknown, said.
		{"a node forbidden is unknown, said", Nodes{Kubelets: map[string]Kubelet{"n": {Forbidden: "get nodes is forbidden by RBAC"}}}, cacheUnknown,
			"node n could not be read (get nodes is forbidden by RBAC), so whether its kubelet re-checks the credentials of cached images is unknown",
			"cannot read nodes (get nodes is forbidden by RBAC): whether their kubelets re-check the credentials of cached private images (KubeletEnsureSecretPulledImages, on by default since 1.35) is unknown; grant get on nodes to know", true},
		{"a node forbidden with --read-kubelet-config names nodes/proxy too", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Forbidden: "get nodes is forbidden by RBAC"}}}, cacheUnknown,
			"node n could not be read", "grant get on nodes (and get on nodes/proxy, for --read-kubelet-config) to know", true},
		{"configz forbidden on a 1.37 kubelet is unknown, said", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", ConfigError: "get nodes/proxy is forbidden by RBAC", ConfigForbidden: true}}}, cacheUnknown,
			"node n runs kubelet v1.37.0, whose configuration could not be read (get nodes/proxy is forbidden by RBAC), so whether it re-checks the credentials of cached images is unknown",
			"cannot read the kubelets' configuration (get nodes/proxy is forbidden by RBAC): whether 1.35+ kubelets re-check the credentials of cached private images is unknown; grant get on nodes/proxy to know", true},
		{"configz forbidden on a 1.34 kubelet: its version decides", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.34.2", ConfigError: "get nodes/proxy is forbidden by RBAC", ConfigForbidden: true}}}, cacheShared, "off by default before 1.35", "", false},
		{"NeverVerify never re-checks", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", Config: cfg(PolicyNeverVerify, nil)}}}, cacheShared, "NeverVerify, read from its configz", "", false},
		{"AlwaysVerify re-checks", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", Config: cfg(PolicyAlwaysVerify, nil)}}}, cacheRechecks, "AlwaysVerify, read from its configz", "", false},
		{"an empty policy in configz is the default", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.36.0", Config: cfg("", nil)}}}, cacheRechecks, "NeverVerifyPreloadedImages, read from its configz", "", false},
		{"allowlisted image is not re-checked", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", Config: cfg(PolicyNeverVerifyAllowlistedImages, nil, priv+"/*")}}}, cacheShared, "allowlist holds " + image, "", false},
		{"image outside the allowlist is re-checked", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", Config: cfg(PolicyNeverVerifyAllowlistedImages, nil, priv+"/other")}}}, cacheRechecks, "NeverVerifyAllowlistedImages", "", false},
		{"feature gate off on 1.37", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", Config: cfg("", map[string]bool{"KubeletEnsureSecretPulledImages": false})}}}, cacheShared, "set to false in its featureGates", "", false},
		{"feature gate on for a 1.34 kubelet", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.34.0", Config: cfg(PolicyAlwaysVerify, map[string]bool{"KubeletEnsureSecretPulledImages": true})}}}, cacheRechecks, "set to true in its featureGates", "", false},
		{"configz unreadable: default assumed per node", Nodes{ConfigRead: true, Kubelets: map[string]Kubelet{"n": {Version: "v1.37.0", ConfigError: "the server is currently unable to handle the request"}}}, cacheRechecks, "the default", "kubelet on node n could not be read (the server is currently unable", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why, note := tt.nodes.cachedPull("n", image)
			if got != tt.want {
				t.Errorf("check = %d, want %d (%s)", got, tt.want, why)
			}
			if !strings.Contains(why, tt.why) {
				t.Errorf("why = %q, want it to contain %q", why, tt.why)
			}
			if (note != "") != tt.hasNote || !strings.Contains(note, tt.note) {
				t.Errorf("note = %q, want one (%t) containing %q", note, tt.hasNote, tt.note)
			}
		})
	}
}

// onNode schedules the workload's pods on nodes.
func onNode(w workload.Workload, nodes ...string) workload.Workload {
	w.Nodes = nodes
	return w
}

// withDigest makes every pod of w report digest d.
func withDigest(w workload.Workload, d string) workload.Workload {
	w.Containers = slices.Clone(w.Containers)
	for i := range w.Containers {
		w.Containers[i].Running = []imageref.RunningImage{{ImageID: d, Digest: d, Kind: imageref.KindManifest}}
	}
	return w
}

// withVerdicts answers every check of in: anonymous pulls by anon, the
// credentials by cred.
func withVerdicts(t *testing.T, in Input, anon, cred registry.VerifyResult) Input {
	t.Helper()
	in.Verdicts = map[CheckKey]registry.Verification{}
	for _, c := range Checks(in) {
		res := cred
		if c.Key.CredentialID == registry.Anonymous.ID {
			res = anon
		}
		in.Verdicts[c.Key] = registry.Verification{Result: res, Message: c.Key.Registry + " says " + string(res)}
	}
	return in
}

func TestEvaluateCachedPulls(t *testing.T) {
	img := priv + "/team/app:1"
	holder := onNode(deploy("other", "holder", "", []string{"regcred"}, 1, img), "node-a")
	objs := []runtime.Object{pullSecret("other", "regcred", priv, "alice", privPassword),
		rawSecret("other", "empty", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{"`+priv+`":{}}}`)}
	borrower := onNode(barePod(deploy("ns", "borrower", "runner", nil, 1, priv+"/team/app:2")), "node-a")
	kubelet := func(v string) Nodes { return Nodes{Kubelets: map[string]Kubelet{"node-a": {Version: v}}} }
	tests := []struct {
		name    string
		w       workload.Workload
		holder  workload.Workload
		nodes   Nodes
		verify  bool
		cred    registry.VerifyResult
		want    Status
		detail  []string
		warning string
	}{
		{"1.37 kubelet re-checks", borrower, holder, kubelet("v1.37.0"), true, registry.VerifyOK, RunsOnCachedPull,
			[]string{"neither the pod nor service account runner has a pull secret for " + priv + "/team/app", "node node-a runs kubelet v1.37.0", "pulled there by deployment/holder -n other", "ErrImagePull"},
			"assumed each kubelet's imagePullCredentialsVerificationPolicy is the default"},
		{"1.35 kubelet re-checks", borrower, holder, kubelet("v1.35.0"), true, registry.VerifyOK, RunsOnCachedPull, []string{"v1.35.0"}, "NeverVerifyPreloadedImages"},
		{"1.34 kubelet shares", borrower, holder, kubelet("v1.34.2"), true, registry.VerifyOK, SharesCachedPull,
			[]string{"node node-a runs kubelet v1.34.2", "a pod without access runs a private image"}, ""},
		{"unparsable kubelet version", borrower, holder, kubelet("v-next"), true, registry.VerifyOK, Unknown, []string{`"v-next", which does not parse`}, ""},
		{"node forbidden: unknown, never a failing start", borrower, holder, Nodes{Kubelets: map[string]Kubelet{"node-a": {Forbidden: "get nodes is forbidden by RBAC"}}}, true, registry.VerifyOK, Unknown,
			[]string{"pulled there by deployment/holder -n other", "node node-a could not be read (get nodes is forbidden by RBAC), so whether its kubelet re-checks the credentials of cached images is unknown"}, "cannot read nodes (get nodes is forbidden by RBAC)"},
		{"without --verify the image is not proven private", borrower, holder, kubelet("v1.37.0"), false, "", NodeProvided, []string{"yet 1 pod run it", "deployment/holder -n other pulled it onto node node-a with a pull secret: --verify tells"}, ""},
		{"the holder's credential is refused", borrower, holder, kubelet("v1.37.0"), true, registry.VerifyRejected, NodeProvided, []string{"refuses anonymous pulls"}, ""},
		{"on another node", onNode(borrower, "node-b"), holder, kubelet("v1.37.0"), true, registry.VerifyOK, NodeProvided, []string{"yet 1 pod run it"}, ""},
		{"the holder does not run it", borrower, onNode(deploy("other", "holder", "", []string{"regcred"}, 0, img), "node-a"), kubelet("v1.37.0"), true, registry.VerifyOK, NodeProvided, []string{"yet 1 pod run it"}, ""},
		{"another digest of the repository is another image", borrower, withDigest(holder, "sha256:1"), kubelet("v1.37.0"), true, registry.VerifyOK, NodeProvided, []string{"yet 1 pod run it"}, ""},
		{"the same digest under another tag", withDigest(borrower, "sha256:1"), withDigest(holder, "sha256:1"), kubelet("v1.37.0"), true, registry.VerifyOK, RunsOnCachedPull, []string{"pulled there by deployment/holder -n other"}, "NeverVerifyPreloadedImages"},
		{"an empty entry pulls anonymously, holding no credential", borrower, onNode(deploy("other", "holder", "", []string{"empty"}, 1, img), "node-a"), kubelet("v1.37.0"), true, registry.VerifyOK, NodeProvided, []string{"yet 1 pod run it"}, ""},
		{"a node credential provider serves it", borrower, holder, kubelet("v1.37.0"), true, registry.VerifyOK, NodeProvided, []string{"--node-credential-registries pattern *.example.com", "service account ns/runner"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := []workload.Workload{tt.w, tt.holder}
			store := storeOf(t, []string{"ns", "other"}, ws, false, objs...)
			in := Input{Workloads: ws, Store: store, Namespaces: []string{"ns", "other"}, Nodes: tt.nodes}
			if strings.Contains(tt.name, "node credential") {
				in.NodeCredentials = []string{"*.example.com"}
			}
			if tt.verify {
				in = withVerdicts(t, in, registry.VerifyRejected, tt.cred)
			}
			res := Evaluate(in)
			var row *Row
			for i := range res.Rows {
				if res.Rows[i].Name == tt.w.Name {
					row = &res.Rows[i]
				}
			}
			if row == nil {
				t.Fatalf("no row for %s: %+v", tt.w.Name, res.Rows)
			}
			if row.Status != tt.want {
				t.Errorf("status = %s, want %s (detail %q)", row.Status, tt.want, row.Detail)
			}
			for _, d := range tt.detail {
				if !strings.Contains(row.Detail, d) {
					t.Errorf("detail = %q, want it to contain %q", row.Detail, d)
				}
			}
			warnings := strings.Join(res.Warnings, "\n")
			if (tt.warning == "") != (warnings == "") || !strings.Contains(warnings, tt.warning) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warning)
			}
			if len(res.Warnings) > 1 {
				t.Errorf("want the assumption said once, got %q", res.Warnings)
			}
			for _, r := range res.Rows {
				if r.Name == "holder" && tt.cred == registry.VerifyOK && tt.holder.Spec.PullSecrets[0] == "regcred" && r.Status != Covered {
					t.Errorf("holder: %s, want covered", r.Status)
				}
			}
		})
	}
}

func TestCachedPullNodes(t *testing.T) {
	img := priv + "/team/app:1"
	ws := []workload.Workload{
		onNode(deploy("ns", "holder", "", []string{"regcred"}, 1, img), "node-a", "node-b"),
		onNode(deploy("ns", "borrower", "", nil, 1, img), "node-b", "node-c"),
		onNode(deploy("ns", "public", "", nil, 1, public+"/lib/x:1"), "node-a"),
	}
	store := storeOf(t, []string{"ns"}, ws, false, pullSecret("ns", "regcred", priv, "alice", privPassword))
	got := CachedPullNodes(Input{Workloads: ws, Store: store, Namespaces: []string{"ns"}})
	if strings.Join(got, ",") != "node-b" {
		t.Errorf("CachedPullNodes = %v, want [node-b]", got)
	}
}

func TestNodeCredentialPatterns(t *testing.T) {
	tests := []struct {
		pattern, reg, repo string
		want               bool
	}{
		{"*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.eu-west-1.amazonaws.com", "team/app", true},
		{"*.dkr.ecr.*.amazonaws.com", "dkr.ecr.eu-west-1.amazonaws.com", "team/app", false},
		{"registry.example.com/team", "registry.example.com", "team/app", true},
		{"registry.example.com/team", "registry.example.com", "teamwork/app", false},
		{"registry.example.com:5000", "registry.example.com", "app", false},
		{"registry.example.com:5000", "registry.example.com:5000", "app", true},
		{"*.example.com", "a.b.example.com", "app", false},
	}
	for _, tt := range tests {
		if err := ValidateNodeCredentialPattern(tt.pattern); err != nil {
			t.Errorf("ValidateNodeCredentialPattern(%q) = %v", tt.pattern, err)
		}
		if got := matchesPattern(tt.pattern, tt.reg, tt.repo); got != tt.want {
			t.Errorf("matchesPattern(%q, %s/%s) = %t, want %t", tt.pattern, tt.reg, tt.repo, got, tt.want)
		}
	}
	for _, bad := range []string{"", "https://registry.example.com", "reg[.example.com", "registry..example.com", "registry.example.com:abc"} {
		if err := ValidateNodeCredentialPattern(bad); err == nil {
			t.Errorf("ValidateNodeCredentialPattern(%q) accepted it", bad)
		}
	}
	// Cloud registries are node-provided without a pattern, naming the
	// service account whose token a provider may use.
	w := deploy("ns", "web", "builder", nil, 0, "123.dkr.ecr.eu-west-1.amazonaws.com/team/app:1")
	store := storeOf(t, []string{"ns"}, []workload.Workload{w}, false, serviceAccount("ns", "builder"))
	rows := Evaluate(Input{Workloads: []workload.Workload{w}, Store: store, Namespaces: []string{"ns"}}).Rows
	if len(rows) != 1 || rows[0].Status != NodeProvided || !strings.Contains(rows[0].Detail, "service account ns/builder") {
		t.Errorf("ECR without a pull secret: %+v, want node-provided? naming service account ns/builder", rows)
	}
}

func TestParseConfigz(t *testing.T) {
	c, err := ParseConfigz([]byte(`{"kubeletconfig":{"imagePullCredentialsVerificationPolicy":"AlwaysVerify","featureGates":{"KubeletEnsureSecretPulledImages":true},"preloadedImagesVerificationAllowlist":["registry.k8s.io/*"]}}`))
	if err != nil || c.Policy != PolicyAlwaysVerify || !c.FeatureGates["KubeletEnsureSecretPulledImages"] || len(c.Allowlist) != 1 {
		t.Errorf("ParseConfigz = %+v, %v", c, err)
	}
	for body, want := range map[string]string{
		`<html>`: "not JSON",
		`{}`:     "has no kubeletconfig",
		`{"kubeletconfig":{"imagePullCredentialsVerificationPolicy":"Sometimes"}}`: `unknown imagePullCredentialsVerificationPolicy "Sometimes"`,
	} {
		if _, err := ParseConfigz([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfigz(%s) error = %v, want %q", body, err, want)
		}
	}
}
