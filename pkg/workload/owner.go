package workload

import "strings"

// OperatorOwner is the object's controller when it is no built-in
// controller: an operator's kind (a Prometheus owning a StatefulSet) or any
// other controller that writes the object's spec and would revert a change
// made to it. ok is false for no controller or a built-in one (a
// ReplicaSet's Deployment, a Job's CronJob, a mirror pod's Node), which
// the roll-up reaches already.
func (o Object) OperatorOwner() (owner Object, ok bool) {
	ref := o.Owner
	if ref == nil {
		return Object{}, false
	}
	group, _, found := strings.Cut(ref.APIVersion, "/")
	if !found {
		group = ""
	}
	if builtinController(group, ref.Kind) {
		return Object{}, false
	}
	return Object{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, Namespace: o.Namespace, UID: ref.UID}, true
}

func builtinController(group, kind string) bool {
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

// Group is the API group of the object's apiVersion ("" for core).
func (o Object) Group() string {
	group, _, found := strings.Cut(o.APIVersion, "/")
	if !found {
		return ""
	}
	return group
}
