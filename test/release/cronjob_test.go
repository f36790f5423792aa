package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// deploy/cronjob binds only the shipped ClusterRoles to its service
// account and runs the audit that writes Reports, locked down.
func TestCronJobManifest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "cronjob", "imgtrust-audit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job *batchv1.CronJob
	var bound []string
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			if err := yaml.UnmarshalStrict([]byte(doc), &b); err != nil {
				t.Fatal(err)
			}
			if len(b.Subjects) != 1 || b.Subjects[0].Name != "imgtrust-audit" || b.Subjects[0].Namespace != "imgtrust" {
				t.Errorf("%s binds %+v, want only the imgtrust/imgtrust-audit service account", b.Name, b.Subjects)
			}
			loadClusterRole(t, b.RoleRef.Name+".yaml") // a role deploy/rbac ships
			bound = append(bound, b.RoleRef.Name)
		case "CronJob":
			job = &batchv1.CronJob{}
			if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(bound)
	if !slices.Equal(bound, []string{"imgtrust-readonly", "imgtrust-reports"}) {
		t.Errorf("bound roles %v, want imgtrust-readonly and imgtrust-reports", bound)
	}
	if job == nil {
		t.Fatal("no CronJob")
	}
	spec := job.Spec.JobTemplate.Spec.Template.Spec
	if spec.ServiceAccountName != "imgtrust-audit" || spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Errorf("pod: service account %q, security context %+v", spec.ServiceAccountName, spec.SecurityContext)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers", len(spec.Containers))
	}
	c := spec.Containers[0]
	if !slices.Equal(c.Args, []string{"audit", "-A", "--write-reports"}) || len(c.Command) != 0 {
		t.Errorf("container runs %v %v, want the image's entrypoint with audit -A --write-reports", c.Command, c.Args)
	}
	// The fact cache survives between runs: $XDG_CACHE_HOME is a
	// PersistentVolumeClaim's mount, writable by the image's user.
	cacheHome := ""
	for _, e := range c.Env {
		if e.Name == "XDG_CACHE_HOME" {
			cacheHome = e.Value
		}
	}
	claimed := false
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if m.Name == v.Name && m.MountPath == cacheHome && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "imgtrust-audit-cache" {
				claimed = true
			}
		}
	}
	if cacheHome == "" || !claimed || spec.SecurityContext.FSGroup == nil || *spec.SecurityContext.FSGroup != 65532 {
		t.Errorf("cache: XDG_CACHE_HOME %q, on the imgtrust-audit-cache claim %t, fsGroup %v; want the claim mounted there, group 65532", cacheHome, claimed, spec.SecurityContext.FSGroup)
	}
	if !strings.Contains(string(raw), "kind: PersistentVolumeClaim\nmetadata:\n  name: imgtrust-audit-cache\n  namespace: imgtrust") {
		t.Error("no PersistentVolumeClaim imgtrust-audit-cache in namespace imgtrust")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container security context %+v", sc)
	}
}
