package pipeline

import (
	"context"

	"github.com/imgtrust/kubectl-imgtrust/pkg/pin"
	"github.com/imgtrust/kubectl-imgtrust/pkg/workload"
)

// choosers returns, per workload, the chooser of its digests: from its
// pods, or from the registry with the workload's own pull credentials,
// checked against the authorities when they are set.
func (r *pinRun) choosers(ctx context.Context, cfg PinConfig, backend pinBackend, found *workload.Discovery) (func(workload.Object) pin.Chooser, error) {
	if cfg.Source == pin.SourceRunning && r.Authorities == nil && r.session == nil {
		return func(workload.Object) pin.Chooser { return pin.RunningChooser() }, nil
	}
	plan, warnings, err := backend.Credentials(ctx, found)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		r.Events(PinEvent{Kind: PinWarning, Message: w})
	}
	r.plan = plan
	return func(obj workload.Object) pin.Chooser {
		c := pin.RunningChooser()
		if cfg.Source == pin.SourceRegistry {
			c = pin.RegistryChooser(func(u workload.Usage) (string, error) {
				return DigestFor(ctx, r.resolver, plan, obj, u.Image)
			})
		}
		if r.Authorities == nil {
			return c
		}
		choose := c.Choose
		c.Choose = func(u workload.Usage) (string, error) {
			d, err := choose(u)
			if err != nil {
				return "", err
			}
			return d, r.verify(ctx, obj, u.Image, d)
		}
		return c
	}, nil
}
