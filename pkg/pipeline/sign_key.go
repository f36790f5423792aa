package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
	"github.com/imgtrust/kubectl-imgtrust/pkg/trustpolicy"
)

// The data keys of a key pair Secret, as cosign generate-key-pair
// k8s://NAMESPACE/NAME writes it.
const (
	secretPrivateKey = "cosign.key"
	secretPassword   = "cosign.password"
)

// LoadSignKey loads the private key to sign with: a file decrypted with pw,
// or k8s://NAMESPACE/NAME, a Secret's cosign.key decrypted with its
// cosign.password (as cosign sign --key k8s://… does). Errors are one
// *sign.KeyError line naming what to fix, without key material.
func LoadSignKey(ctx context.Context, c Cluster, ref string, pw sign.Password) (*sign.Key, error) {
	if ns, name, ok := trustpolicy.K8sKey(ref); ok {
		return secretSignKey(ctx, c, ref, ns, name)
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		fix := "cannot read the file: " + strings.TrimPrefix(err.Error(), "open "+ref+": ")
		if errors.Is(err, fs.ErrNotExist) {
			fix = "no such file; give the cosign.key that cosign generate-key-pair writes, or k8s://NAMESPACE/NAME"
		}
		return nil, &sign.KeyError{Source: ref, Problem: sign.KeyUnreadable, Fix: fix}
	}
	return sign.LoadKey(ref, b, pw)
}

// secretSignKey reads the key pair Secret ns/name.
func secretSignKey(ctx context.Context, c Cluster, ref, ns, name string) (*sign.Key, error) {
	fail := func(fix string) (*sign.Key, error) {
		return nil, &sign.KeyError{Source: ref, Problem: sign.KeyUnreadable, Fix: fix}
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return fail("is not k8s://NAMESPACE/NAME")
	}
	client, err := c.Client()
	if err != nil {
		return fail("cannot connect to the cluster to read the key: " + ErrorLine(err))
	}
	ctx, cancel := context.WithTimeout(ctx, k8sKeyTimeout)
	defer cancel()
	s, err := client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fail(fmt.Sprintf("no Secret %q in namespace %q; create it with cosign generate-key-pair %s", name, ns, ref))
	case apierrors.IsForbidden(err):
		return fail(fmt.Sprintf("forbidden: signing with it needs get on secrets in namespace %q; ask for that permission", ns))
	case err != nil:
		return fail("cannot read the Secret: " + ErrorLine(err))
	}
	key := s.Data[secretPrivateKey]
	if len(key) == 0 {
		return fail(fmt.Sprintf("the Secret has no %s (cosign generate-key-pair %s writes %s, %s and cosign.pub)", secretPrivateKey, ref, secretPrivateKey, secretPassword))
	}
	password, set := s.Data[secretPassword]
	return sign.LoadKey(ref, key, sign.Password{Value: password, Set: set, From: "the Secret's " + secretPassword})
}
