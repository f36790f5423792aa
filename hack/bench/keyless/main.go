// Command keyless makes the bench's private keyless signer, as the e2e
// tests make theirs (test/fixture): a Fulcio-like root CA and one leaf
// certificate carrying an OIDC issuer and a subject, with the leaf's key as
// cosign sign --key takes it. run.sh then builds trusted_root.json with
// `cosign trusted-root create` and signs with the real cosign; nothing
// contacts Fulcio, Rekor or a CT log.
//
//	keyless -dir DIR -issuer ISSUER -subject SUBJECT
//
// It writes DIR/ca.pem (the CA) and DIR/bench-keyless.{key,pem,pub} (the
// leaf's cosign key, certificate and public key). cosign must be on PATH
// (the leaf's key is imported with cosign import-key-pair). The leaf is
// valid for an hour, so make it just before signing.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

func main() {
	dir := flag.String("dir", "", "directory for the CA and the leaf")
	issuer := flag.String("issuer", "", "OIDC issuer written into the leaf")
	subject := flag.String("subject", "", "the leaf's subject (SAN): a URI or an e-mail address")
	flag.Parse()
	if *dir == "" || *issuer == "" || *subject == "" {
		fmt.Fprintln(os.Stderr, "keyless: -dir, -issuer and -subject are required")
		os.Exit(2)
	}
	ca, err := fixture.NewKeylessCA(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyless: making the CA:", err)
		os.Exit(1)
	}
	if _, _, err := ca.Leaf(*dir, "bench-keyless", *issuer, *subject); err != nil {
		fmt.Fprintln(os.Stderr, "keyless: making the leaf:", err)
		os.Exit(1)
	}
}
