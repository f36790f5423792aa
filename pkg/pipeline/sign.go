package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// SignFormat is where and how a signature is written.
type SignFormat string

const (
	// SignBundle is a sigstore bundle v0.3 attached as a referrer (cosign
	// v3's default).
	SignBundle SignFormat = "bundle"
	// SignLegacy is cosign's legacy .sig tag (cosign --new-bundle-format=false).
	SignLegacy SignFormat = "legacy"
)

// SignStatus is what became of one image.
type SignStatus string

const (
	// SignSigned: our signature was written.
	SignSigned SignStatus = "signed"
	// SignAlreadySigned: our key had signed the digest before; nothing written.
	SignAlreadySigned SignStatus = "already-signed"
	// SignRefused: there is no digest to sign (a tag, no running pod).
	SignRefused SignStatus = "refused"
	// SignFailed: the registry failed or refused; nothing written.
	SignFailed SignStatus = "failed"
)

// SignConfig signs the digests workloads run (or -f manifests name).
type SignConfig struct {
	Cluster  Cluster
	Registry registry.Options
	// Key is a cosign private key file or k8s://NAMESPACE/NAME.
	Key string
	// Password decrypts a key file (COSIGN_PASSWORD); a k8s:// key
	// uses its Secret's cosign.password.
	Password sign.Password
	Format   SignFormat
	// Gates, when set, are what a digest must pass to be signed
	// (--require, --max-age, --max-severity).
	Gates *SignGates
	// Events, when set, is told each outcome as it happens.
	Events func(SignOutcome)
}

// SignOutcome is what became of one container's image (one per running
// digest when pods run several).
type SignOutcome struct {
	Object    workload.Object
	Container string
	// Image is the image as written in the spec or manifest.
	Image string
	// Target is REPOSITORY@DIGEST, what is (or would be) signed; empty
	// when refused for want of a digest.
	Target string
	Status SignStatus
	// Message says why (refused, failed) or where the signature went.
	Message string
}

// SignResult is every outcome, in workload and container order.
type SignResult struct {
	Outcomes                               []SignOutcome
	Signed, AlreadySigned, Refused, Failed int
	// Warnings name what could not be read (namespaces, -f inputs).
	Warnings []string
}

// Sign loads the key (an error here is bad input: nothing is read), finds
// the digests to sign, and signs each digest once: checked first with
// pkg/signature against our own public key, then written with the
// user's docker config credential. The error is for a run that cannot
// start (the key, the cluster).
func Sign(ctx context.Context, cfg SignConfig) (SignResult, error) {
	resolver, err := registry.New(cfg.Registry)
	if err != nil {
		return SignResult{}, err
	}
	signer, err := newDigestSigner(ctx, cfg.Cluster, cfg.Key, cfg.Password, cfg.Format, resolver)
	if err != nil {
		return SignResult{}, err
	}
	cfg.Format = signer.format
	if cfg.Gates != nil && cfg.Gates.PolicyFile != "" {
		if signer.policy, err = policyRef(cfg.Gates.PolicyFile); err != nil {
			return SignResult{}, err
		}
	}
	targets, plan, warnings, found, err := signTargets(ctx, cfg.Cluster)
	if err != nil {
		return SignResult{}, err
	}
	s := &signRun{cfg: cfg, signer: signer, plan: plan, done: map[string]SignOutcome{}, gates: cfg.Gates.list(resolver)}
	if sev, _ := cfg.Gates.severity(); sev != "" && len(targets) > 0 {
		var more []string
		if s.vulns, more, err = newSignVulns(ctx, cfg.Cluster, found, cfg.Gates, resolver, signer.key.Public); err != nil {
			return SignResult{}, err
		}
		warnings = append(warnings, more...)
	}
	s.result.Warnings = warnings
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		s.add(s.signOne(ctx, t))
	}
	return s.result, ctx.Err()
}

// policyRef names the trust-policy file by its sha256, for the checks
// attestation. --trust-policy=cluster is no file: the verified-upstream
// check names the ClusterImagePolicies that verified the digest.
func policyRef(file string) (*sign.TrustPolicyRef, error) {
	if file == ClusterTrustPolicy {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--trust-policy %s cannot be read: %v", file, err)
	}
	sum := sha256.Sum256(b)
	return &sign.TrustPolicyRef{Name: filepath.Base(file), Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}, nil
}
