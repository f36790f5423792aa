package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgtrust/kubectl-imgtrust/pkg/registry"
)

// connectionFlags say how to reach registries: timeout and TLS.
type connectionFlags struct {
	Timeout       time.Duration
	LookupTimeout time.Duration
	CAFile        string
	Insecure      []string
}

func (f *connectionFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.Timeout, "registry-timeout", registry.DefaultTimeout, "Timeout of each registry request")
	cmd.Flags().DurationVar(&f.LookupTimeout, "registry-lookup-timeout", registry.DefaultLookupTimeout, "Registry time one image may take in all: its resolution and then every signature, attestation, provenance and tag-list read of its digest (audit), its signature check (pin, sign) and, with --mirror-to, the checks of its copy and its referrer copies (retries, redirects and token exchanges included; time queued for a concurrency slot and the transfer of the image's own blobs not); once spent, its later reads fail as timeout")
	cmd.Flags().StringVar(&f.CAFile, "registry-ca-file", "", "PEM file of CA certificates to trust for registries, besides the system roots (and SSL_CERT_FILE)")
	cmd.Flags().StringSliceVar(&f.Insecure, "insecure-registry", nil, "Registry host[:port] that may use plain HTTP or an unverified certificate (repeatable); TLS is verified for every other registry")
}

func (f *connectionFlags) Validate() error {
	if f.Timeout <= 0 {
		return fmt.Errorf("--registry-timeout must be positive, got %s", f.Timeout)
	}
	if f.LookupTimeout <= 0 {
		return fmt.Errorf("--registry-lookup-timeout must be positive, got %s", f.LookupTimeout)
	}
	return nil
}

func (f *connectionFlags) Options() registry.Options {
	return registry.Options{Timeout: f.Timeout, LookupTimeout: f.LookupTimeout, CAFile: f.CAFile, Insecure: f.Insecure}
}

// registryFlags configure registry lookups for audit, resolve and pin:
// the connection plus how many lookups run at once.
type registryFlags struct {
	connectionFlags
	Concurrency         int
	PerHost             int
	MaxArtifactRequests int
	budgetFlag          bool // --max-artifact-requests was added
}

func (f *registryFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.Concurrency, "concurrency", registry.DefaultConcurrency, "Registry lookups in flight at most")
	cmd.Flags().IntVar(&f.PerHost, "concurrency-per-registry", registry.DefaultPerHost, "Registry lookups in flight at most per registry host")
	f.connectionFlags.AddFlags(cmd)
}

// AddArtifactBudgetFlag adds --max-artifact-requests, for the commands
// that read signatures and other artifacts (not resolve, which reads
// none: there the flag would be accepted and do nothing).
func (f *registryFlags) AddArtifactBudgetFlag(cmd *cobra.Command) {
	f.budgetFlag = true
	cmd.Flags().IntVar(&f.MaxArtifactRequests, "max-artifact-requests", registry.DefaultMaxArtifactRequests, "Registry reads one image's artifacts may take in all: signatures, attestations, their blobs, referrer pages and, with --mirror-to, referrer copies; past it the rest are skipped and counted, and the lookup is reported as failed, never as unsigned")
}

func (f *registryFlags) Validate() error {
	if f.Concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1, got %d", f.Concurrency)
	}
	if f.PerHost < 1 {
		return fmt.Errorf("--concurrency-per-registry must be at least 1, got %d", f.PerHost)
	}
	if f.budgetFlag && f.MaxArtifactRequests < 1 {
		return fmt.Errorf("--max-artifact-requests must be at least 1, got %d", f.MaxArtifactRequests)
	}
	return f.connectionFlags.Validate()
}

func (f *registryFlags) Options(platform string) registry.Options {
	o := f.connectionFlags.Options()
	o.Concurrency, o.PerHost, o.Platform = f.Concurrency, f.PerHost, platform
	o.MaxArtifactRequests = f.MaxArtifactRequests
	return o
}
