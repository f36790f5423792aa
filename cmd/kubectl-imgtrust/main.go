// Command kubectl-imgtrust is the kubectl plugin `kubectl imgtrust`.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	// As kubectl does: kubeconfigs with auth-provider (oidc) work.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/imgtrust/kubectl-imgtrust/pkg/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	args := os.Args[1:]
	// kubectl completes `kubectl imgtrust <TAB>` by running an executable
	// named kubectl_complete-imgtrust: a symlink to this binary.
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl_complete-") {
		args = append([]string{cobra.ShellCompRequestCmd}, args...)
	}
	// IMGTRUST_CPUPROFILE=FILE writes a CPU profile of the run (go tool
	// pprof), IMGTRUST_TRACE=FILE an execution trace (go tool trace: where
	// it waits), for the bench; kubectl's own --profile does not reach
	// plugins.
	if path := os.Getenv("IMGTRUST_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
		}
	}
	if path := os.Getenv("IMGTRUST_TRACE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = trace.Start(f)
		}
	}
	code := cmd.Execute(ctx, streams, args)
	pprof.StopCPUProfile()
	trace.Stop()
	stop()
	os.Exit(code)
}
