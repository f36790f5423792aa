package coverage

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// Verification policies of the kubelet (imagePullCredentialsVerificationPolicy).
const (
	PolicyNeverVerify                  = "NeverVerify"
	PolicyNeverVerifyPreloadedImages   = "NeverVerifyPreloadedImages"
	PolicyNeverVerifyAllowlistedImages = "NeverVerifyAllowlistedImages"
	PolicyAlwaysVerify                 = "AlwaysVerify"
)

// ensureSecretPulledImagesSince is the first kubelet minor with
// KubeletEnsureSecretPulledImages on by default (beta).
var ensureSecretPulledImagesSince = version.MajorMinor(1, 35)

// Nodes is what the report knows of the kubelets pods run on.
type Nodes struct {
	// Kubelets by node name; a node missing here was not found.
	Kubelets map[string]Kubelet
	// ConfigRead is set when the kubelets' configuration was asked for
	// (--read-kubelet-config); otherwise the default policy is assumed.
	ConfigRead bool
}

// Kubelet is one node's kubelet.
type Kubelet struct {
	// Version is the node's status.nodeInfo.kubeletVersion.
	Version string
	// Forbidden says why RBAC refused reading the node ("" when it did
	// not): its kubelet, and so its cache behaviour, is unknown.
	Forbidden string
	// ReadError says why the node could not be read (not RBAC, not
	// missing: a fault such as a timeout).
	ReadError string
	// Config is the kubelet's configuration from configz; nil when not read.
	Config *KubeletConfig
	// ConfigError says why configz could not be read.
	ConfigError string
	// ConfigForbidden is set when RBAC refused configz (nodes/proxy).
	ConfigForbidden bool
}

// KubeletConfig is the part of the kubelet's configuration that decides
// whether it re-checks the credentials of cached images.
type KubeletConfig struct {
	// Policy is imagePullCredentialsVerificationPolicy; "" is the default.
	Policy string `json:"imagePullCredentialsVerificationPolicy"`
	// Allowlist is preloadedImagesVerificationAllowlist (for
	// NeverVerifyAllowlistedImages).
	Allowlist []string `json:"preloadedImagesVerificationAllowlist"`
	// FeatureGates as configured; KubeletEnsureSecretPulledImages when set
	// overrides the version's default.
	FeatureGates map[string]bool `json:"featureGates"`
}

// ParseConfigz reads the kubelet's /configz answer
// ({"kubeletconfig": {...}}).
func ParseConfigz(body []byte) (*KubeletConfig, error) {
	var doc struct {
		KubeletConfig *KubeletConfig `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the kubelet's configz is not JSON: %v", err)
	}
	if doc.KubeletConfig == nil {
		return nil, fmt.Errorf("the kubelet's configz has no kubeletconfig")
	}
	switch doc.KubeletConfig.Policy {
	case "", PolicyNeverVerify, PolicyNeverVerifyPreloadedImages, PolicyNeverVerifyAllowlistedImages, PolicyAlwaysVerify:
	default:
		return nil, fmt.Errorf("unknown imagePullCredentialsVerificationPolicy %q", doc.KubeletConfig.Policy)
	}
	return doc.KubeletConfig, nil
}

// cacheCheck is how one node's kubelet treats a private image another
// pod's credential pulled.
type cacheCheck int

const (
	cacheUnknown  cacheCheck = iota
	cacheRechecks            // the kubelet asks for the pod's own credential
	cacheShared              // any pod may use the cached image
)

// Assumption notes, said once in the report's warnings when a verdict
// rests on them.
const (
	noteDefaultPolicy = "assumed each kubelet's imagePullCredentialsVerificationPolicy is the default, NeverVerifyPreloadedImages: reading it needs nodes/proxy (the kubelet's configz), which --read-kubelet-config asks for"
)

// cachedPull decides how the kubelet of node treats image (registry/repo)
// pulled by another pod: whether it re-checks, and why. note, when not
// empty, is an assumption the answer rests on.
func (n Nodes) cachedPull(node, image string) (c cacheCheck, why, note string) {
	k, ok := n.Kubelets[node]
	if !ok {
		return cacheUnknown, fmt.Sprintf("node %s was not found, so its kubelet version is unknown", node), ""
	}
	if k.Forbidden != "" {
		// Nothing read, nothing assumed: an old kubelet shares the cached
		// image, a 1.35+ one re-checks it, and either may be configured
		// otherwise.
		grant := "get on nodes"
		if n.ConfigRead {
			grant += " (and get on nodes/proxy, for --read-kubelet-config)"
		}
		return cacheUnknown, fmt.Sprintf("node %s could not be read (%s), so whether its kubelet re-checks the credentials of cached images is unknown", node, k.Forbidden),
			fmt.Sprintf("cannot read nodes (%s): whether their kubelets re-check the credentials of cached private images (KubeletEnsureSecretPulledImages, on by default since 1.35) is unknown; grant %s to know", k.Forbidden, grant)
	}
	if k.ReadError != "" {
		return cacheUnknown, fmt.Sprintf("node %s could not be read (%s), so its kubelet version is unknown", node, k.ReadError), ""
	}
	v, err := version.ParseGeneric(k.Version)
	if err != nil {
		return cacheUnknown, fmt.Sprintf("node %s reports kubelet version %q, which does not parse: whether it re-checks the credentials of cached images is unknown", node, k.Version), ""
	}
	on := v.AtLeast(ensureSecretPulledImagesSince)
	gate := "on by default since 1.35"
	if !on {
		gate = "off by default before 1.35"
	}
	if k.Config != nil {
		if set, ok := k.Config.FeatureGates["KubeletEnsureSecretPulledImages"]; ok {
			on, gate = set, fmt.Sprintf("set to %t in its featureGates", set)
		}
	}
	if !on {
		return cacheShared, fmt.Sprintf("node %s runs kubelet %s, with KubeletEnsureSecretPulledImages %s, so any pod there may use the cached image", node, k.Version, gate), ""
	}
	if n.ConfigRead && k.ConfigForbidden {
		// Its feature gate and policy decide, were asked for, and RBAC
		// hid them: nothing is assumed.
		return cacheUnknown, fmt.Sprintf("node %s runs kubelet %s, whose configuration could not be read (%s), so whether it re-checks the credentials of cached images is unknown", node, k.Version, k.ConfigError),
			fmt.Sprintf("cannot read the kubelets' configuration (%s): whether 1.35+ kubelets re-check the credentials of cached private images is unknown; grant get on nodes/proxy to know", k.ConfigError)
	}
	policy, said, note := PolicyNeverVerifyPreloadedImages, "the default", noteDefaultPolicy
	switch {
	case k.Config != nil:
		note, said = "", "read from its configz"
		if k.Config.Policy != "" {
			policy = k.Config.Policy
		}
	case n.ConfigRead:
		note = fmt.Sprintf("the configuration of the kubelet on node %s could not be read (%s): assumed its imagePullCredentialsVerificationPolicy is the default, NeverVerifyPreloadedImages", node, k.ConfigError)
	}
	head := fmt.Sprintf("node %s runs kubelet %s (KubeletEnsureSecretPulledImages %s, imagePullCredentialsVerificationPolicy %s, %s)", node, k.Version, gate, policy, said)
	switch {
	case policy == PolicyNeverVerify:
		return cacheShared, head + ", which never re-checks: any pod there may use the cached image", note
	case policy == PolicyNeverVerifyAllowlistedImages && allowlisted(k.Config.Allowlist, image):
		return cacheShared, head + ", whose allowlist holds " + image + ": any pod there may use the cached image", note
	}
	return cacheRechecks, head + ", which re-checks the credentials of cached images", note
}

// allowlisted matches preloadedImagesVerificationAllowlist entries: a
// repository, or a prefix ending in "/*".
func allowlisted(list []string, image string) bool {
	for _, e := range list {
		if prefix, ok := strings.CutSuffix(e, "/*"); ok {
			if strings.HasPrefix(image, prefix+"/") {
				return true
			}
		} else if e == image {
			return true
		}
	}
	return false
}
