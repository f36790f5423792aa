package cmd

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Bad flags of sign are one line and exit 2, before anything is read:
// an unknown gate, max-severity given as a gate, a bad --max-severity or
// --max-age, --tlog-upload.
func TestSignBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--require", "provenance,signed"}, `--require "signed" is not a gate: use verified-upstream, provenance, no-critical (and --max-age DURATION for age, --max-severity SEVERITY for vulnerabilities)`},
		{[]string{"--require", "max-severity=high"}, "--require max-severity=high is not a gate name: give the severity as audit does, --max-severity critical|high|medium|low"},
		{[]string{"--max-severity", "severe"}, `--max-severity: unknown severity "severe": use critical, high, medium or low`},
		{[]string{"--max-age", "soon"}, `--max-age "soon": want a positive duration such as 180d, 26w or 720h`},
		{[]string{"--tlog-upload"}, "--tlog-upload is not supported yet: sign with cosign sign --key cosign.key --tlog-upload=true IMAGE@DIGEST for a transparency-log entry"},
		{[]string{"--rekor-url", "https://rekor.example"}, "--tlog-upload is not supported yet"},
		{[]string{"--require", "provenance", "--platform", "arm64"}, `--platform "arm64" is not os/arch[/variant], e.g. linux/arm64`},
	} {
		streams, _, out, _ := genericiooptions.NewTestIOStreams()
		cmd := NewCmdSign(genericclioptions.NewConfigFlags(false), streams)
		cmd.SetArgs(append([]string{"deploy/web", "--key", "cosign.key"}, tc.args...))
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		err := cmd.Execute()
		var exit *exitError
		if !errors.As(err, &exit) || exit.Code != ExitError || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || out.Len() != 0 {
			t.Errorf("%v: %v, want exit 2 and one line starting %q", tc.args, err, tc.want)
		}
	}
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	if help := NewCmdSign(genericclioptions.NewConfigFlags(false), streams).Long; !strings.Contains(help, "No transparency-log upload happens") || !strings.Contains(help, "no-critical") || !strings.Contains(help, "--max-severity SEVERITY refuses") {
		t.Errorf("the help does not say that no transparency-log upload happens, or does not name the vulnerability gates:\n%s", help)
	}
}
