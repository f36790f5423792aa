package pipeline

import (
	"fmt"

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
	if cat.Immutable(obj.Group(), obj.Kind) {
		return fmt.Sprintf("a %s cannot change once it is created: pin the manifest it is created from (kubectl imgtrust pin -f FILE --write)", obj.Kind)
	}
	owner, ok := obj.OperatorOwner()
	if !ok {
		return ""
	}
	where := owner.Name
	if obj.Namespace != "" {
		where = obj.Namespace + "/" + owner.Name
	}
	if cat.Knows(owner.Group(), owner.Kind) {
		return fmt.Sprintf("owned by %s %s: its operator would revert a patch here; pin the %s resource (kubectl imgtrust pin %s)", owner.Kind, where, owner.Kind, owner.Label())
	}
	return fmt.Sprintf("owned by %s %s (%s): its controller would revert a patch here; pin what the %s is made from", owner.Kind, where, owner.APIVersion, owner.Kind)
}
