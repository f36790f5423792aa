package workload

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/imgtrust/kubectl-imgtrust/pkg/imageref"
)

// podSpecYAML is a pod spec with every field the report reads; ephemeral
// containers are added for pods only, where they can exist.
const podSpecYAML = `
serviceAccountName: builder
imagePullSecrets:
- name: regcred
- name: mirror
initContainers:
- name: migrate
  image: ghcr.io/acme/migrate:1.0
  imagePullPolicy: IfNotPresent
- name: seed
  image: ghcr.io/acme/seed
containers:
- name: app
  image: nginx
- name: sidecar
  image: registry.example.com/proxy@` + digestA + `
  imagePullPolicy: Always
`

const ephemeralYAML = `
- name: debugger
  image: busybox:latest
  imagePullPolicy: Never
`

// objectWithSpec builds an object of apiVersion/kind with podSpecYAML at path.
func objectWithSpec(t *testing.T, apiVersion, kind string, path []string, ephemeral bool) *unstructured.Unstructured {
	t.Helper()
	spec := mustUnstructured(t, podSpecYAML).Object
	if ephemeral {
		spec["ephemeralContainers"] = mustUnstructured(t, "items:"+ephemeralYAML).Object["items"]
	}
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace("shop")
	u.SetName("web")
	if err := unstructured.SetNestedField(u.Object, spec, path...); err != nil {
		t.Fatalf("building %s: %v", kind, err)
	}
	return u
}

func TestFromUnstructuredKinds(t *testing.T) {
	tests := []struct {
		apiVersion, kind string
		path             []string
		want             string // the pod spec's JSON pointer
	}{
		{"v1", "Pod", []string{"spec"}, "/spec"},
		{"apps/v1", "Deployment", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"apps/v1", "StatefulSet", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"apps/v1", "DaemonSet", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"apps/v1", "ReplicaSet", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"v1", "ReplicationController", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"batch/v1", "Job", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"batch/v1", "CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec"}, "/spec/jobTemplate/spec/template/spec"},
		{"extensions/v1beta1", "Deployment", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		// CRDs: searched at spec.template.spec, then spec.jobTemplate.spec.template.spec.
		{"argoproj.io/v1alpha1", "Rollout", []string{"spec", "template", "spec"}, "/spec/template/spec"},
		{"example.com/v1", "ScheduledTask", []string{"spec", "jobTemplate", "spec", "template", "spec"}, "/spec/jobTemplate/spec/template/spec"},
		// A CRD that happens to be called Deployment is searched like any CRD.
		{"example.com/v1", "Deployment", []string{"spec", "jobTemplate", "spec", "template", "spec"}, "/spec/jobTemplate/spec/template/spec"},
	}
	for _, tt := range tests {
		t.Run(tt.apiVersion+"/"+tt.kind, func(t *testing.T) {
			isPod := tt.kind == "Pod"
			u := objectWithSpec(t, tt.apiVersion, tt.kind, tt.path, isPod)
			got, ok, err := FromUnstructured(u)
			if err != nil || !ok {
				t.Fatalf("FromUnstructured() ok=%v err=%v, want ok=true err=nil", ok, err)
			}
			if got.APIVersion != tt.apiVersion || got.Kind != tt.kind || got.Namespace != "shop" || got.Name != "web" {
				t.Errorf("identity = %s %s %s/%s, want %s %s shop/web", got.APIVersion, got.Kind, got.Namespace, got.Name, tt.apiVersion, tt.kind)
			}
			p := tt.want
			want := &PodSpec{
				ServiceAccount: "builder",
				PullSecrets:    []string{"regcred", "mirror"},
				Containers: []ContainerSpec{
					{Name: "migrate", Type: InitContainer, Image: "ghcr.io/acme/migrate:1.0", PullPolicy: corev1.PullIfNotPresent, Path: p + "/initContainers/0/image"},
					{Name: "seed", Type: InitContainer, Image: "ghcr.io/acme/seed", Path: p + "/initContainers/1/image"},
					{Name: "app", Type: Container, Image: "nginx", Path: p + "/containers/0/image"},
					{Name: "sidecar", Type: Container, Image: "registry.example.com/proxy@" + digestA, PullPolicy: corev1.PullAlways, Path: p + "/containers/1/image"},
				},
			}
			if isPod {
				want.Containers = append(want.Containers, ContainerSpec{
					Name: "debugger", Type: EphemeralContainer, Image: "busybox:latest", PullPolicy: corev1.PullNever, Path: "/spec/ephemeralContainers/0/image",
				})
			}
			if !reflect.DeepEqual(got.Spec, want) {
				t.Errorf("Spec =\n%+v\nwant\n%+v", got.Spec, want)
			}
			if got.Running != nil {
				t.Errorf("Running = %v, want nil (no status)", got.Running)
			}
		})
	}
}

func TestFromUnstructuredPaths(t *testing.T) {
	// The exact pointer of each container type in the deepest layout.
	u := mustUnstructured(t, `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ops}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - {name: a, image: "a:1"}
          - {name: b, image: "b:1"}
          containers:
          - {name: c, image: "c:1"}
`)
	got, ok, err := FromUnstructured(u)
	if err != nil || !ok {
		t.Fatalf("FromUnstructured() ok=%v err=%v", ok, err)
	}
	want := []string{
		"/spec/jobTemplate/spec/template/spec/initContainers/0/image",
		"/spec/jobTemplate/spec/template/spec/initContainers/1/image",
		"/spec/jobTemplate/spec/template/spec/containers/0/image",
	}
	var paths []string
	for _, c := range got.Spec.Containers {
		paths = append(paths, c.Path)
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}

func TestFromUnstructuredNoPodSpec(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"configmap", `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}`},
		{"service", `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80}]}}`},
		{"deployment without template", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 1}}`},
		{"deployment with spec at the cronjob path", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: x}]}}}}}}`},
		{"cronjob with spec at the deployment path", `{apiVersion: batch/v1, kind: CronJob, metadata: {name: j}, spec: {template: {spec: {containers: [{name: c, image: x}]}}}}`},
		{"crd without template", `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 3}}`},
		{"replicationcontroller without template", `{apiVersion: v1, kind: ReplicationController, metadata: {name: rc}, spec: {replicas: 0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := FromUnstructured(mustUnstructured(t, tt.doc))
			if err != nil {
				t.Fatalf("FromUnstructured() err = %v, want nil", err)
			}
			if ok || got.Spec != nil {
				t.Errorf("FromUnstructured() ok=%v Spec=%+v, want ok=false and no spec", ok, got.Spec)
			}
		})
	}
}

func TestFromUnstructuredMalformed(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
	}{
		{
			"containers not a list",
			`{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {template: {spec: {containers: nginx}}}}`,
			"Deployment d: reading the pod spec at .spec.template.spec",
		},
		{
			"crd with a malformed cronjob-style template",
			`{apiVersion: example.com/v1, kind: Task, metadata: {name: t}, spec: {jobTemplate: {spec: {template: {spec: {initContainers: {a: b}}}}}}}`,
			"Task t: reading the pod spec at .spec.jobTemplate.spec.template.spec",
		},
		{
			"pod status not a pod status",
			`{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}]}, status: {containerStatuses: oops}}`,
			"Pod p: reading its status",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok, err := FromUnstructured(mustUnstructured(t, tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FromUnstructured() err = %v, want one containing %q", err, tt.wantErr)
			}
			if ok {
				t.Errorf("FromUnstructured() ok = true with an error, want false")
			}
		})
	}
}

func TestFromUnstructuredMetadata(t *testing.T) {
	tests := []struct {
		name      string
		owners    string
		wantOwner *metav1.OwnerReference
	}{
		{
			name: "controller among several owners",
			owners: `
  - {apiVersion: v1, kind: ConfigMap, name: cfg, uid: u-cfg}
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b, uid: u-rs, controller: true}`,
			wantOwner: controller("ReplicaSet", "web-7d4b", "u-rs"),
		},
		{
			name:   "no controller",
			owners: `[{apiVersion: v1, kind: ConfigMap, name: cfg, uid: u-cfg, controller: false}]`,
		},
		{name: "no owners", owners: `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := mustUnstructured(t, `
apiVersion: v1
kind: Pod
metadata:
  namespace: shop
  name: web-7d4b-x1
  uid: u-pod
  resourceVersion: "42"
  labels: {app: web}
  annotations: {note: hi}
  ownerReferences: `+tt.owners+`
spec:
  containers: [{name: app, image: nginx}]
`)
			got, ok, err := FromUnstructured(u)
			if err != nil || !ok {
				t.Fatalf("FromUnstructured() ok=%v err=%v", ok, err)
			}
			if got.UID != "u-pod" || got.ResourceVersion != "42" {
				t.Errorf("UID, ResourceVersion = %q, %q, want u-pod, 42", got.UID, got.ResourceVersion)
			}
			if !reflect.DeepEqual(got.Labels, map[string]string{"app": "web"}) || !reflect.DeepEqual(got.Annotations, map[string]string{"note": "hi"}) {
				t.Errorf("Labels, Annotations = %v, %v, want app=web, note=hi", got.Labels, got.Annotations)
			}
			if tt.wantOwner == nil {
				if got.Owner != nil {
					t.Errorf("Owner = %+v, want nil", got.Owner)
				}
				return
			}
			if got.Owner == nil || got.Owner.Kind != tt.wantOwner.Kind || got.Owner.Name != tt.wantOwner.Name || got.Owner.UID != tt.wantOwner.UID {
				t.Errorf("Owner = %+v, want %s %s %s", got.Owner, tt.wantOwner.Kind, tt.wantOwner.Name, tt.wantOwner.UID)
			}
		})
	}
}

func TestFromUnstructuredRunning(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   map[ContainerKey]imageref.RunningImage
	}{
		{
			name: "every imageID shape and container type",
			status: `
  initContainerStatuses:
  - {name: migrate, imageID: "docker-pullable://ghcr.io/acme/migrate@` + digestA + `"}
  containerStatuses:
  - {name: app, imageID: "docker.io/library/nginx@` + digestB + `"}
  - {name: sidecar, imageID: "` + digestC + `"}
  - {name: pulling, imageID: ""}
  - {name: odd, imageID: "nginx:1.27"}
  ephemeralContainerStatuses:
  - {name: debugger, imageID: "docker://` + digestA + `"}
`,
			want: map[ContainerKey]imageref.RunningImage{
				{Type: InitContainer, Name: "migrate"}:       {ImageID: "docker-pullable://ghcr.io/acme/migrate@" + digestA, Digest: digestA, Kind: imageref.KindManifest, Repository: "ghcr.io/acme/migrate"},
				{Type: Container, Name: "app"}:               {ImageID: "docker.io/library/nginx@" + digestB, Digest: digestB, Kind: imageref.KindManifest, Repository: "index.docker.io/library/nginx", SpecImage: "nginx"},
				{Type: Container, Name: "sidecar"}:           {ImageID: digestC, Digest: digestC, Kind: imageref.KindConfig},
				{Type: EphemeralContainer, Name: "debugger"}: {ImageID: "docker://" + digestA, Digest: digestA, Kind: imageref.KindConfig},
			},
		},
		{
			name:   "only empty imageIDs",
			status: "\n  containerStatuses:\n  - {name: app, imageID: \"\"}\n",
		},
		{
			name:   "no statuses",
			status: " {phase: Pending}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := mustUnstructured(t, `
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers: [{name: app, image: nginx}]
status:`+tt.status)
			got, ok, err := FromUnstructured(u)
			if err != nil || !ok {
				t.Fatalf("FromUnstructured() ok=%v err=%v", ok, err)
			}
			if !reflect.DeepEqual(got.Running, tt.want) {
				t.Errorf("Running =\n%v\nwant\n%v", got.Running, tt.want)
			}
		})
	}
}

// TestTypedMatchesUnstructured checks that objects read from a typed list
// (List) and from manifests or resource.Builder (FromUnstructured) come out
// the same, paths included: pin patches whatever path either one reports.
func TestTypedMatchesUnstructured(t *testing.T) {
	meta := func(kind string) metav1.ObjectMeta {
		yes := true
		return metav1.ObjectMeta{
			Namespace: "shop", Name: strings.ToLower(kind), UID: types.UID("u-" + kind), ResourceVersion: "7",
			Labels:          map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Thing", Name: "t", UID: "u-t", Controller: &yes}},
		}
	}
	spec := corev1.PodSpec{
		ServiceAccountName: "sa",
		ImagePullSecrets:   []corev1.LocalObjectReference{{Name: "regcred"}},
		InitContainers:     []corev1.Container{{Name: "init", Image: "busybox:1", ImagePullPolicy: corev1.PullIfNotPresent}},
		Containers:         []corev1.Container{{Name: "app", Image: "nginx"}, {Name: "side", Image: "envoy@" + digestA}},
		Volumes: []corev1.Volume{
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "ghcr.io/acme/data:1", PullPolicy: corev1.PullAlways}}},
		},
	}
	tmpl := corev1.PodTemplateSpec{Spec: spec}
	podSpec := spec
	podSpec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}}
	tests := []struct {
		kind string
		obj  runtime.Object
	}{
		{"Pod", &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta("Pod"), Spec: podSpec,
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", ImageID: "nginx@" + digestB}}}}},
		{"Deployment", &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta("Deployment"), Spec: appsv1.DeploymentSpec{Template: tmpl}}},
		{"StatefulSet", &appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}, ObjectMeta: meta("StatefulSet"), Spec: appsv1.StatefulSetSpec{Template: tmpl}}},
		{"DaemonSet", &appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, ObjectMeta: meta("DaemonSet"), Spec: appsv1.DaemonSetSpec{Template: tmpl}}},
		{"ReplicaSet", &appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"}, ObjectMeta: meta("ReplicaSet"), Spec: appsv1.ReplicaSetSpec{Template: tmpl}}},
		{"ReplicationController", &corev1.ReplicationController{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"}, ObjectMeta: meta("ReplicationController"), Spec: corev1.ReplicationControllerSpec{Template: &tmpl}}},
		{"Job", &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: meta("Job"), Spec: batchv1.JobSpec{Template: tmpl}}},
		{"CronJob", &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta("CronJob"), Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			typed, ok := fromTyped(tt.kind, tt.obj)
			if !ok {
				t.Fatalf("fromTyped(%s) ok = false, want true", tt.kind)
			}
			raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			fromU, ok, err := FromUnstructured(&unstructured.Unstructured{Object: raw})
			if err != nil || !ok {
				t.Fatalf("FromUnstructured() ok=%v err=%v", ok, err)
			}
			if !reflect.DeepEqual(typed, fromU) {
				t.Errorf("typed and unstructured differ:\ntyped        %+v\nunstructured %+v", typed, fromU)
			}
			if typed.Owner == nil || typed.Owner.UID != "u-t" {
				t.Errorf("Owner = %+v, want the controller u-t", typed.Owner)
			}
			if len(typed.Spec.Containers) == 0 || !strings.HasPrefix(typed.Spec.Containers[0].Path, "/"+strings.Join(podSpecPaths[tt.kind], "/")+"/") {
				t.Errorf("first path = %+v, want it under %v", typed.Spec.Containers, podSpecPaths[tt.kind])
			}
		})
	}
}

func TestFromTypedSkips(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
	}{
		{"replicationcontroller without template", &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}}},
		{"not a workload", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, ok := fromTyped("", tt.obj); ok {
				t.Errorf("fromTyped() = %+v, true; want false", got)
			}
		})
	}
}

// TestImageVolumes checks that an image volume is a usage of its own type,
// named by the volume, at the path of its reference, and that no container
// status (which never covers volumes) is taken for it.
func TestImageVolumes(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "p"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "data", Image: "nginx:1"}},
			Volumes: []corev1.Volume{
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "ghcr.io/acme/data:1", PullPolicy: corev1.PullIfNotPresent}}},
				{Name: "model", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "ghcr.io/acme/model"}}},
			},
		},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "data", ImageID: "docker.io/library/nginx@" + digestB}}},
	}
	obj := FromPod(pod)
	want := []ContainerSpec{
		{Name: "data", Type: Container, Image: "nginx:1", Path: "/spec/containers/0/image"},
		{Name: "data", Type: ImageVolume, Image: "ghcr.io/acme/data:1", PullPolicy: corev1.PullIfNotPresent, Path: "/spec/volumes/1/image/reference"},
		{Name: "model", Type: ImageVolume, Image: "ghcr.io/acme/model", Path: "/spec/volumes/2/image/reference"},
	}
	if !reflect.DeepEqual(obj.Spec.Containers, want) {
		t.Errorf("Containers =\n%+v\nwant\n%+v", obj.Spec.Containers, want)
	}
	ws := Rollup([]Object{obj}, RollupOptions{})
	if len(ws) != 1 || len(ws[0].Containers) != 3 {
		t.Fatalf("Rollup() = %+v, want one workload with 3 usages", ws)
	}
	for _, u := range ws[0].Containers {
		if got := len(u.Running); (u.Type == Container) != (got == 1) {
			t.Errorf("%s %s runs %d images", u.Type, u.Name, got)
		}
	}
}

func TestObjectRefAndLabel(t *testing.T) {
	for _, tt := range []struct {
		obj        Object
		ref, label string
	}{
		{Object{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, "deployment/web", "deployment/web -n shop"},
		{Object{APIVersion: "v1", Kind: "Pod", Name: "bare"}, "pod/bare", "pod/bare"},
		// A custom kind: its resource when the API server said it, else kind.group.
		{Object{APIVersion: "serving.knative.dev/v1", Kind: "Service", Namespace: "a", Name: "hello", Resource: "services.serving.knative.dev"}, "services.serving.knative.dev/hello", "services.serving.knative.dev/hello -n a"},
		{Object{APIVersion: "serving.knative.dev/v1", Kind: "Service", Namespace: "a", Name: "hello"}, "service.serving.knative.dev/hello", "service.serving.knative.dev/hello -n a"},
	} {
		if got := tt.obj.Ref(); got != tt.ref {
			t.Errorf("Ref() = %q, want %q", got, tt.ref)
		}
		if got := tt.obj.Label(); got != tt.label {
			t.Errorf("Label() = %q, want %q", got, tt.label)
		}
	}
}
