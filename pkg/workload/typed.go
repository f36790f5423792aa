package workload

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// fromTyped extracts an Object from one item of a typed list.
func fromTyped(kind string, item runtime.Object) (Object, bool) {
	switch o := item.(type) {
	case *corev1.Pod:
		return FromPod(o), true
	case *appsv1.ReplicaSet:
		return FromTemplate("apps/v1", "ReplicaSet", &o.ObjectMeta, &o.Spec.Template.Spec), true
	case *appsv1.Deployment:
		return FromTemplate("apps/v1", "Deployment", &o.ObjectMeta, &o.Spec.Template.Spec), true
	case *appsv1.StatefulSet:
		return FromTemplate("apps/v1", "StatefulSet", &o.ObjectMeta, &o.Spec.Template.Spec), true
	case *appsv1.DaemonSet:
		return FromTemplate("apps/v1", "DaemonSet", &o.ObjectMeta, &o.Spec.Template.Spec), true
	case *batchv1.Job:
		return FromTemplate("batch/v1", "Job", &o.ObjectMeta, &o.Spec.Template.Spec), true
	case *batchv1.CronJob:
		return FromTemplate("batch/v1", "CronJob", &o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec), true
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return Object{}, false
		}
		return FromTemplate("v1", "ReplicationController", &o.ObjectMeta, &o.Spec.Template.Spec), true
	}
	return Object{}, false
}
