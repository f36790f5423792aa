// Command kubectl-imgtrust is the kubectl plugin `kubectl imgtrust`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/imgtrust/kubectl-imgtrust/pkg/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	code := cmd.Execute(ctx, streams, os.Args[1:])
	stop()
	os.Exit(code)
}
