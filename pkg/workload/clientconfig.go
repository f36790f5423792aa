package workload

import (
	"k8s.io/client-go/rest"
)

// RaiseClientLimits lifts client-go's default 5 QPS / 10 burst, which would
// throttle a cluster-wide audit to a crawl; the lists are paginated anyway.
func RaiseClientLimits(c *rest.Config) *rest.Config {
	c.QPS = 50
	c.Burst = 100
	return c
}
