package coverage

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pullsecret"
	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

type verdicts map[string]registry.VerifyResult // "registry user|anonymous" → result

func TestEvaluateStatuses(t *testing.T) {
	goodSecret := pullSecret("ns", "regcred", priv, "alice", privPassword)
	otherSecret := pullSecret("ns", "othercred", "other.example.com", "bob", otherPassword)
	opaque := rawSecret("ns", "opaque", corev1.SecretTypeOpaque, corev1.DockerConfigJsonKey, `{"auths":{}}`)
	badB64 := rawSecret("ns", "badb64", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{"`+priv+`":{"auth":"%%%not-base64"}}}`)
	img := priv + "/team/app:1"
	tests := []struct {
		name     string
		w        workload.Workload
		objs     []runtime.Object
		forbid   bool
		verdicts verdicts
		want     Status
		secrets  []SecretRef
		detail   string
	}{
		{"covered by a pod secret", deploy("ns", "web", "", []string{"regcred"}, 0, img), []runtime.Object{goodSecret}, false, nil,
			Covered, []SecretRef{{"regcred", pullsecret.KindPodSecret}}, `user "alice" from regcred`},
		{"covered by the service account's secret", deploy("ns", "web", "builder", nil, 0, img), []runtime.Object{goodSecret, serviceAccount("ns", "builder", "regcred")}, false, nil,
			Covered, []SecretRef{{"regcred", pullsecret.KindServiceAccountSecret}}, `user "alice" from regcred`},
		{"pod secrets win over the service account's", deploy("ns", "web", "builder", []string{"othercred"}, 0, img), []runtime.Object{goodSecret, otherSecret, serviceAccount("ns", "builder", "regcred")}, false, nil,
			NoMatchingCredential, []SecretRef{{"othercred", pullsecret.KindPodSecret}}, "othercred has no key for reg.example.com (keys: other.example.com)"},
		{"missing secret", deploy("ns", "web", "", []string{"nope"}, 0, img), nil, false, nil,
			MissingSecret, []SecretRef{{"nope", pullsecret.KindPodSecret}}, "secret nope does not exist in ns"},
		{"missing secret beside a covering one", deploy("ns", "web", "", []string{"regcred", "nope"}, 0, img), []runtime.Object{goodSecret}, false, nil,
			Covered, []SecretRef{{"regcred", pullsecret.KindPodSecret}}, "also references missing secret nope"},
		{"missing secret of the service account", deploy("ns", "web", "", nil, 0, img), []runtime.Object{serviceAccount("ns", "default", "gone")}, false, nil,
			MissingSecret, []SecretRef{{"gone", pullsecret.KindServiceAccountSecret}}, "gone (from service account default) does not exist"},
		{"no matching credential", deploy("ns", "web", "", []string{"othercred"}, 0, img), []runtime.Object{otherSecret}, false, nil,
			NoMatchingCredential, []SecretRef{{"othercred", pullsecret.KindPodSecret}}, "check with --verify"},
		{"wrong type", deploy("ns", "web", "", []string{"opaque"}, 0, img), []runtime.Object{opaque}, false, nil,
			InvalidSecret, []SecretRef{{"opaque", pullsecret.KindPodSecret}}, `type "Opaque" is not kubernetes.io/dockerconfigjson`},
		{"bad base64 fails every pull, even covered ones", deploy("ns", "web", "", []string{"regcred", "badb64"}, 0, img), []runtime.Object{goodSecret, badB64}, false, nil,
			InvalidSecret, []SecretRef{{"badb64", pullsecret.KindPodSecret}}, "auth is not valid base64"},
		{"credential rejected", deploy("ns", "web", "", []string{"regcred"}, 0, img), []runtime.Object{goodSecret}, false, verdicts{priv + " alice": registry.VerifyRejected},
			CredentialRejected, []SecretRef{{"regcred", pullsecret.KindPodSecret}}, `refused user "alice" from regcred`},
		{"credential verified", deploy("ns", "web", "", []string{"regcred"}, 0, img), []runtime.Object{goodSecret}, false, verdicts{priv + " alice": registry.VerifyOK},
			Covered, []SecretRef{{"regcred", pullsecret.KindPodSecret}}, `verified: reg.example.com accepts user "alice" from regcred`},
		{"credential not verifiable", deploy("ns", "web", "", []string{"regcred"}, 0, img), []runtime.Object{goodSecret}, false, verdicts{priv + " alice": registry.VerifyUnreachable},
			Covered, []SecretRef{{"regcred", pullsecret.KindPodSecret}}, "could not verify"},
		{"not needed: anonymous pulls work", deploy("ns", "web", "", nil, 0, public+"/lib/x:1"), nil, false, verdicts{public + " anonymous": registry.VerifyOK},
			NotNeeded, []SecretRef{}, "no secret needed"},
		{"not needed beside secrets for other registries", deploy("ns", "web", "", []string{"othercred"}, 0, public+"/lib/x:1"), []runtime.Object{otherSecret}, false, verdicts{public + " anonymous": registry.VerifyOK},
			NotNeeded, []SecretRef{{"othercred", pullsecret.KindPodSecret}}, "no secret needed"},
		{"anonymous refused, no secret", deploy("ns", "web", "", nil, 0, img), nil, false, verdicts{priv + " anonymous": registry.VerifyRejected},
			NoMatchingCredential, []SecretRef{}, "refuses anonymous pulls"},
		{"node provided", deploy("ns", "web", "", nil, 2, img), nil, false, nil,
			NodeProvided, []SecretRef{}, "yet 2 pods run it"},
		{"node provided, anonymous refused", deploy("ns", "web", "", nil, 1, img), nil, false, verdicts{priv + " anonymous": registry.VerifyRejected},
			NodeProvided, []SecretRef{}, "refuses anonymous pulls"},
		{"unknown without secrets or --verify", deploy("ns", "web", "", nil, 0, img), nil, false, nil,
			Unknown, []SecretRef{}, "--verify checks it"},
		{"unknown when secrets are forbidden", deploy("ns", "web", "", []string{"regcred"}, 0, img), []runtime.Object{goodSecret}, true, nil,
			Unknown, []SecretRef{}, "cannot read secrets in ns (forbidden by RBAC)"},
		// The kubelet reads a pod's own spec: its service account's secrets
		// were copied in at creation, if at all.
		{"a bare pod does not take its service account's secrets", barePod(deploy("ns", "web", "builder", nil, 1, img)), []runtime.Object{goodSecret, serviceAccount("ns", "builder", "regcred")}, false, nil,
			NodeProvided, []SecretRef{}, "no pull secret covers"},
		{"an empty entry is an anonymous attempt", deploy("ns", "web", "", []string{"empty"}, 0, img), []runtime.Object{rawSecret("ns", "empty", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{"`+priv+`":{}}}`)}, false, verdicts{priv + " anonymous": registry.VerifyOK},
			Covered, []SecretRef{{"empty", pullsecret.KindPodSecret}}, "an empty entry"},
		{"problems of a usable secret are shown", deploy("ns", "web", "", []string{"mixed"}, 0, img), []runtime.Object{rawSecret("ns", "mixed", corev1.SecretTypeDockerConfigJson, corev1.DockerConfigJsonKey, `{"auths":{"`+priv+`":{"username":"alice","password":"`+privPassword+`"},":5000":{"username":"x","password":"y"}}}`)}, false, nil,
			Covered, []SecretRef{{"mixed", pullsecret.KindPodSecret}}, "note mixed:"},
		{"docker hub fallback key", deploy("ns", "web", "", []string{"hub"}, 0, "nginx:1"), []runtime.Object{pullSecret("ns", "hub", "https://index.docker.io/v1/", "carol", privPassword)}, false, nil,
			Covered, []SecretRef{{"hub", pullsecret.KindPodSecret}}, "index.docker.io fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := []workload.Workload{tt.w}
			store := storeOf(t, []string{"ns"}, ws, tt.forbid, tt.objs...)
			in := Input{Workloads: ws, Store: store, Namespaces: []string{"ns"}}
			if tt.verdicts != nil {
				in.Verdicts = map[CheckKey]registry.Verification{}
				for _, c := range Checks(in) {
					who := c.Username
					if c.Key.CredentialID == registry.Anonymous.ID {
						who = "anonymous"
					}
					res, ok := tt.verdicts[c.Key.Registry+" "+who]
					if !ok {
						t.Fatalf("unexpected check %+v", c.Key)
					}
					in.Verdicts[c.Key] = registry.Verification{Result: res, Message: "test says " + string(res)}
				}
			}
			got := Evaluate(in).Rows
			if len(got) != 1 {
				t.Fatalf("got %d rows, want 1: %+v", len(got), got)
			}
			row := got[0]
			if row.Status != tt.want {
				t.Errorf("status = %s, want %s (detail %q)", row.Status, tt.want, row.Detail)
			}
			if !equalRefs(row.Secrets, tt.secrets) {
				t.Errorf("secrets = %+v, want %+v", row.Secrets, tt.secrets)
			}
			if !strings.Contains(row.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", row.Detail, tt.detail)
			}
		})
	}
}

func equalRefs(a, b []SecretRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEvaluateRowsPerRegistry(t *testing.T) {
	w := deploy("ns", "web", "", []string{"regcred"}, 0, priv+"/team/a:1", priv+"/team/b:1", public+"/lib/x:1", "bad image!", priv+"/team/a:2")
	store := storeOf(t, []string{"ns"}, []workload.Workload{w}, false, pullSecret("ns", "regcred", priv+"/team/a", "alice", privPassword))
	rows := Evaluate(Input{Workloads: []workload.Workload{w}, Store: store, Namespaces: []string{"ns"}}).Rows
	var got []string
	for _, r := range rows {
		got = append(got, r.Registry+" "+string(r.Status)+" "+r.Detail)
	}
	want := []string{
		public + " no-matching-credential regcred has no key for public.example.com (keys: reg.example.com/team/a); fine only if public.example.com serves it anonymously: check with --verify",
		priv + " no-matching-credential team/b: regcred has no key for reg.example.com (keys: reg.example.com/team/a); fine only if reg.example.com serves it anonymously: check with --verify",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestChecksOncePerCredentialAndRegistry(t *testing.T) {
	ws := []workload.Workload{
		deploy("ns", "a", "", []string{"regcred"}, 0, priv+"/team/a:1", priv+"/team/b:1"),
		deploy("ns", "b", "", []string{"copy"}, 0, priv+"/team/c:1", public+"/lib/x:1", public+"/lib/y:1"),
	}
	store := storeOf(t, []string{"ns"}, ws, false,
		pullSecret("ns", "regcred", priv, "alice", privPassword),
		pullSecret("ns", "copy", priv, "alice", privPassword)) // same credential, another secret
	var got []string
	for _, c := range Checks(Input{Workloads: ws, Store: store, Namespaces: []string{"ns"}}) {
		got = append(got, c.Key.Registry+" "+c.Key.Repository+" "+c.Source)
	}
	want := []string{
		priv + "  pod-secret ns/regcred",
		public + " lib/x anonymous",
		public + " lib/y anonymous",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseStatuses(t *testing.T) {
	got, err := ParseStatuses([]string{"missing-secret,invalid-secret", "node-provided?"})
	if err != nil || len(got) != 3 || !got[MissingSecret] || !got[InvalidSecret] || !got[NodeProvided] {
		t.Errorf("ParseStatuses = %v, %v", got, err)
	}
	if _, err := ParseStatuses([]string{"missing"}); err == nil || !strings.Contains(err.Error(), `unknown status "missing"`) {
		t.Errorf("ParseStatuses(missing) error = %v, want unknown status", err)
	}
}

// barePod turns a test workload into a bare Pod.
func barePod(w workload.Workload) workload.Workload {
	w.APIVersion, w.Kind = "v1", "Pod"
	return w
}
