// Command load builds the bench's synthetic cluster on the local stack (see
// package loader): eval "$(hack/local-cluster.sh env)" first.
//
//	load -pods 10000 -namespaces 100 -images 500 -private-host localhost:PROXY1 \
//	     -public-host localhost:PROXY2 -refs-file refs.txt
//
// It prints the Result as JSON to stdout and writes the unique references,
// one per line, to -refs-file.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/imgtrust/kubectl-imgtrust/hack/bench/load/loader"
	"github.com/imgtrust/kubectl-imgtrust/test/fixture"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	var c loader.Config
	flag.IntVar(&c.Pods, "pods", 10000, "pods to create")
	flag.IntVar(&c.PodsPerWorkload, "pods-per-workload", 10, "pods per owner object")
	flag.IntVar(&c.Namespaces, "namespaces", 100, "namespaces to spread the workloads over")
	flag.IntVar(&c.Images, "images", 500, "unique image references (half private, half public)")
	flag.StringVar(&c.Prefix, "prefix", "bench", "prefix of namespaces and image repositories")
	flag.StringVar(&c.PrivateHost, "private-host", "", "private registry host:port written into pods (default: the stack's)")
	flag.StringVar(&c.PublicHost, "public-host", "", "public registry host:port written into pods (default: the stack's)")
	flag.Func("private-upstream", "stack registry the private images are pushed to (default: the basic-auth one; the token-auth one for a token bench); repeat it or separate with commas for several, the same digests in each", func(v string) error {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				c.PrivateUpstreams = append(c.PrivateUpstreams, r)
			}
		}
		return nil
	})
	flag.BoolVar(&c.ControllersRunning, "controllers-running", false, "the controller-manager runs: use only DaemonSets as owners")
	flag.IntVar(&c.Workers, "workers", 32, "concurrent API calls")
	flag.IntVar(&c.PushWorkers, "push-workers", 16, "concurrent image pushes")
	refsFile := flag.String("refs-file", "", "write the unique image references here, one per line")
	digestsFile := flag.String("digests-file", "", "write each unique image as REPOSITORY@DIGEST here, one per line (what signers and verifiers take)")
	flag.Parse()
	c.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := fixture.FromEnv()
	if err != nil {
		return err
	}
	cs, err := clientset(s.Kubeconfig)
	if err != nil {
		return err
	}
	res, err := loader.Load(ctx, s, cs, c)
	if err != nil {
		return err
	}
	if *refsFile != "" {
		if err := os.WriteFile(*refsFile, []byte(strings.Join(res.Refs(), "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if *digestsFile != "" {
		var lines []string
		for _, im := range res.Images {
			lines = append(lines, im.Ref[:strings.LastIndex(im.Ref, ":")]+"@"+im.Digest)
		}
		if err := os.WriteFile(*digestsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// clientset lifts client-go's default 5 QPS: the load is 20,000 writes.
func clientset(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 5000, 5000
	return kubernetes.NewForConfig(cfg)
}
