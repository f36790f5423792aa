//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/imgtrust/kubectl-imgtrust/pkg/sign"
)

// TestPinSign mirrors what a deployment runs into the private registry,
// signs the copy with a cosign key file and pins the deployment to it, in
// one pin --mirror-to --sign-key --apply; the real cosign verify accepts
// the mirrored reference, and a second run signs nothing new. The source
// is signed upstream too (a bundle and a legacy .sig tag): the mirror
// keeps every signer's signatures, its own and the source's, across
// copies, merging the legacy .sig tags when both sides have one.
func TestPinSign(t *testing.T) {
	ctx := testContext(t)
	ns := signNamespace(t, "pinsign")
	const password = "pin-sign-3"
	key, pub := encryptedKeyPair(t, password)
	img := runningDeployment(t, ns, "web")
	upKey, upPub, err := stack.CosignKeyPair(ctx, t.TempDir(), "upstream")
	if err != nil {
		t.Fatal(err)
	}
	for _, legacy := range []bool{false, true} {
		if err := stack.CosignSign(ctx, upKey, img.Repo()+"@"+img.Digest, legacy); err != nil {
			t.Fatal(err)
		}
	}
	prefix := stack.Registry + "/" + ns + "/mirror"
	mirrored := prefix + "/" + strings.ReplaceAll(stack.Registry, ":", "-") + "/" + ns + "/web:1@" + img.Digest
	signedRef := strings.Replace(mirrored, ":1@", "@", 1)
	env := []string{"DOCKER_CONFIG=" + pushConfig(t, stack.Registry), "COSIGN_PASSWORD=" + password}
	pinSign := func(env []string, name string, extra ...string) result {
		args := []string{"imgtrust", "pin", "deploy/" + name, "-n", ns, "--mirror-to", prefix, "--sign-key", key}
		return kubectlEnv(t, env, append(args, extra...)...)
	}
	writes := func() int { return mirrorWrites(t, ns+"/mirror") }

	// Bad input, before anything is written: exit 2, one line.
	noMirror := kubectlEnv(t, env, "imgtrust", "pin", "deploy/web", "-n", ns, "--sign-key", key, "--apply")
	if noMirror.Code != 2 || !strings.Contains(noMirror.Stderr, "kubectl imgtrust sign --key") || strings.Count(strings.TrimSpace(noMirror.Stderr), "\n") != 0 {
		t.Errorf("--sign-key without --mirror-to: want exit 2 and one line naming kubectl imgtrust sign\n%s", noMirror)
	}
	wrong := pinSign(append(append([]string(nil), env...), "COSIGN_PASSWORD=not-it"), "web", "--apply")
	t.Logf("wrong password:\n%s", wrong)
	if wrong.Code != 2 || !strings.Contains(wrong.Stderr, "wrong password") || strings.Count(strings.TrimSpace(wrong.Stderr), "\n") != 0 || writes() != 0 {
		t.Errorf("a wrong password: want exit 2, one line, nothing written (%d writes)\n%s", writes(), wrong)
	}

	// The plan says it would sign; nothing is written.
	plan := pinSign(env, "web")
	mustSucceed(t, plan, "pin --mirror-to --sign-key (plan)")
	if !strings.Contains(plan.Stderr, "would sign "+signedRef+" (with "+key+", bundle format)") || writes() != 0 {
		t.Errorf("the plan: want would sign %s and no write\n%s", signedRef, plan)
	}

	applied := pinSign(env, "web", "--apply")
	mustSucceed(t, applied, "pin --mirror-to --sign-key --apply")
	t.Logf("pin --mirror-to --sign-key --apply:\n%s", applied.Stderr)
	if !strings.Contains(applied.Stderr, "signed "+signedRef+" (a sigstore bundle attached as a referrer, with the checks attestation)") || !strings.Contains(applied.Stderr, "; signed: 1, already signed: 0") {
		t.Errorf("want the signature told and counted\n%s", applied)
	}
	if got := deploymentImage(t, ns, "web"); got != mirrored {
		t.Errorf("deploy/web runs %s, want the mirror's %s", got, mirrored)
	}
	if ok, out := stack.CosignVerify(ctx, pub, mirrored); !ok {
		t.Errorf("cosign verify --key cosign.pub --insecure-ignore-tlog rejects the mirrored reference:\n%s", out)
	}
	if ok, out := stack.CosignVerifyAttestation(ctx, pub, mirrored, sign.PredicateChecks); !ok {
		t.Errorf("cosign verify-attestation --type %s rejects the mirror's checks attestation:\n%s", sign.PredicateChecks, out)
	}

	// Again, and for another deployment running the same digest: the copy
	// is there and signed by our key; nothing is written.
	before := writes()
	again := pinSign(env, "web", "--apply")
	mustSucceed(t, again, "pin --mirror-to --sign-key --apply, again")
	deployRunning(t, ns, "api", img)
	api := pinSign(env, "api", "--apply")
	mustSucceed(t, api, "pin deploy/api --mirror-to --sign-key --apply")
	t.Logf("the same digest for deploy/api:\n%s", api.Stderr)
	if !strings.Contains(api.Stderr, "already signed "+signedRef+" (by "+key+", bundle format)") || !strings.Contains(api.Stderr, "; signed: 0, already signed: 1") {
		t.Errorf("deploy/api: want the copy already signed\n%s", api)
	}
	if n := writes() - before; n != 0 || strings.Contains(again.Stderr, "signed ") || !strings.Contains(again.Stderr, "already pinned deployment/web") {
		t.Errorf("the second runs wrote %d times to the mirror\n%s\n%s", n, again, api)
	}
	if got := deploymentImage(t, ns, "api"); got != mirrored {
		t.Errorf("deploy/api runs %s, want %s", got, mirrored)
	}

	// Both sides' legacy .sig tags now differ: the mirror gains a
	// platform team's signature, the source a new upstream one. The next
	// copy merges the new upstream layer into the mirror's .sig.
	dir := t.TempDir()
	platKey, platPub, err := stack.CosignKeyPair(ctx, dir, "platform")
	if err != nil {
		t.Fatal(err)
	}
	up2Key, up2Pub, err := stack.CosignKeyPair(ctx, dir, "upstream2")
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.CosignSign(ctx, platKey, signedRef, true); err != nil {
		t.Fatal(err)
	}
	if err := stack.CosignSign(ctx, up2Key, img.Repo()+"@"+img.Digest, true); err != nil {
		t.Fatal(err)
	}
	deployRunning(t, ns, "worker", img)
	worker := pinSign(env, "worker", "--apply")
	mustSucceed(t, worker, "pin deploy/worker --mirror-to --sign-key --apply")
	t.Logf("deploy/worker, after new signatures on both sides:\n%s", worker.Stderr)
	if !strings.Contains(worker.Stderr, "signatures and attestations copied: 1; signed: 0, already signed: 1") {
		t.Errorf("deploy/worker: want the new upstream signature copied and the copy already signed\n%s", worker)
	}
	// Every signer's signature verifies at the mirror: ours and the
	// upstream bundle in the referrers (cosign v3 reads only those when
	// there are any), and the upstream, second upstream and platform
	// layers of the merged .sig tag (cosign's legacy verification).
	for who, p := range map[string]string{"our": pub, "the upstream": upPub} {
		if ok, out := stack.CosignVerify(ctx, p, mirrored); !ok {
			t.Errorf("cosign verify --key rejects %s bundle of the mirrored reference:\n%s", who, out)
		}
	}
	for who, p := range map[string]string{"the upstream": upPub, "the second upstream": up2Pub, "the platform": platPub} {
		if ok, out := cosignVerifyLegacy(t, p, mirrored); !ok {
			t.Errorf("cosign verify --key --new-bundle-format=false rejects %s signature in the mirror's .sig tag:\n%s", who, out)
		}
	}
	// ... and a key that signed nothing is refused by the same command.
	if _, nobody, err := stack.CosignKeyPair(ctx, dir, "nobody"); err != nil {
		t.Fatal(err)
	} else if ok, out := cosignVerifyLegacy(t, nobody, mirrored); ok {
		t.Errorf("cosign verify --new-bundle-format=false accepts a key that signed nothing:\n%s", out)
	}
}

// cosignVerifyLegacy is the real `cosign verify --key PUB
// --insecure-ignore-tlog --new-bundle-format=false`: the signatures in
// the "sha256-<hex>.sig" tag only, as verifiers before cosign v3 read
// them. ref is in the private registry.
func cosignVerifyLegacy(t *testing.T, pub, ref string) (bool, string) {
	t.Helper()
	cmd := exec.CommandContext(testContext(t), "cosign", "verify", "--key", pub, "--insecure-ignore-tlog=true", "--new-bundle-format=false",
		"--registry-cacert", stack.CAFile, "--registry-username", stack.RegistryUser, "--registry-password", stack.RegistryPassword, ref)
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+stack.CAFile)
	out, err := cmd.CombinedOutput()
	return err == nil, strings.ReplaceAll(string(out), stack.RegistryPassword, "REDACTED")
}
