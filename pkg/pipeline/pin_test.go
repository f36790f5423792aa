package pipeline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/signature"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

func TestDigestForUsesPlanCredentials(t *testing.T) {
	reg := newTestRegistry(t)
	want := reg.PushImage(t, "shop/web:1.0").String()
	reg.locked.Store(true)
	image := reg.Host + "/shop/web:1.0"
	ctx := context.Background()

	noDockerConfig(t)
	if d, err := DigestFor(ctx, reg.resolver(t), NewCredentialPlan(nil), workload.Object{}, image); err == nil {
		t.Fatalf("anonymous resolved a locked registry to %s", d)
	}

	dockerConfigFor(t, reg.Host)
	got, err := DigestFor(ctx, reg.resolver(t), NewCredentialPlan(nil), workload.Object{}, image)
	if err != nil {
		t.Fatalf("with the docker config's credentials: %v", err)
	}
	if got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
}

// keyAuthorities checks every image for a signature by a fresh key.
func keyAuthorities(t *testing.T) *signature.Authorities {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(file, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := signature.LoadKeys([]string{file})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := signature.New(signature.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return signature.ForAll(checker)
}

func TestVerifyDigestRefusesUnsigned(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.PushImage(t, "shop/web:1.0").String()
	reg.locked.Store(true)
	dockerConfigFor(t, reg.Host)
	image := reg.Host + "/shop/web:1.0"

	err := VerifyDigest(context.Background(), reg.resolver(t), keyAuthorities(t), NewCredentialPlan(nil), workload.Object{}, image, digest)
	var refusal *pin.Refusal
	if !errors.As(err, &refusal) {
		t.Fatalf("err = %v (%T), want a *pin.Refusal", err, err)
	}
	if refusal.Reason != pin.ReasonNotVerified {
		t.Errorf("reason %q, want %q", refusal.Reason, pin.ReasonNotVerified)
	}
	wantPrefix := " is not signed by a --verify-key or --trust-cert (" + string(signature.StatusUnsigned)
	if !strings.Contains(refusal.Message, wantPrefix) || !strings.HasSuffix(refusal.Message, "): not pinned") {
		t.Errorf("message %q, want …%s…): not pinned", refusal.Message, wantPrefix)
	}
}
