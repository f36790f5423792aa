package pipeline

import (
	"fmt"
	"strings"

	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// mirrorPodAnnotation marks the API server's copy of a static pod: the
// kubelet runs the pod from a file on its node.
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// ownedRefusal says why obj must not be patched although it has images to
// pin: a mirror pod (the kubelet, not the API, holds its spec), a run the
// catalogue says is immutable (a TaskRun), or an object whose controller
// is an operator's kind, which would write its spec back.
// Built-in owners (a ReplicaSet's Deployment, say) are not reasons: pin
// reports and patches at the top owner already.
func ownedRefusal(obj workload.Object, cat *workload.Catalog) string {
	if _, mirror := obj.Annotations[mirrorPodAnnotation]; mirror && obj.Kind == "Pod" {
		node := "its node"
		if obj.Spec != nil && obj.Spec.NodeName != "" {
			node = "node " + obj.Spec.NodeName
		}
		return fmt.Sprintf("a mirror pod of a static pod on %s: the kubelet runs it from a manifest file on the node, which the API cannot patch; pin that file (kubectl imgtrust pin -f FILE --write)", node)
	}
	if group, _, found := strings.Cut(obj.APIVersion, "/"); found && cat.Immutable(group, obj.Kind) {
		return fmt.Sprintf("a %s cannot change once it is created: pin the manifest it is created from (kubectl imgtrust pin -f FILE --write)", obj.Kind)
	}
	o := obj.Owner
	if o == nil {
		return ""
	}
	group, _, _ := strings.Cut(o.APIVersion, "/")
	if !strings.Contains(o.APIVersion, "/") {
		group = ""
	}
	if builtinOwner(group, o.Kind) {
		return ""
	}
	owner := workload.Object{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name, Namespace: obj.Namespace}
	where := o.Name
	if obj.Namespace != "" {
		where = obj.Namespace + "/" + o.Name
	}
	if cat.Knows(group, o.Kind) {
		return fmt.Sprintf("owned by %s %s: its operator would revert a patch here; pin the %s resource (kubectl imgtrust pin %s)", o.Kind, where, o.Kind, owner.Label())
	}
	return fmt.Sprintf("owned by %s %s (%s): its controller would revert a patch here; pin what the %s is made from", o.Kind, where, o.APIVersion, o.Kind)
}

// builtinOwner: the controllers whose objects pin reaches at their top.
func builtinOwner(group, kind string) bool {
	switch group {
	case "":
		return kind == "ReplicationController" || kind == "Node"
	case "apps":
		return kind == "Deployment" || kind == "ReplicaSet" || kind == "StatefulSet" || kind == "DaemonSet"
	case "batch":
		return kind == "Job" || kind == "CronJob"
	}
	return false
}
