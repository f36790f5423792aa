package pullsecret

import (
	"fmt"
	"testing"
)

// benchKeyring is ~50 keys over three secrets, in the spellings seen in
// clusters: bare hosts, schemes with /v1/ /v2/, ports, paths and globs.
func benchKeyring(b *testing.B) *Keyring {
	b.Helper()
	var sources []Source
	for s := range 3 {
		auths := map[string]any{}
		for i := range 17 {
			host := fmt.Sprintf("reg%d.example%d.com", i, s)
			var key string
			switch i % 6 {
			case 0:
				key = host
			case 1:
				key = "https://" + host + "/v2/"
			case 2:
				key = host + ":5000"
			case 3:
				key = host + "/team"
			case 4:
				key = fmt.Sprintf("*.example%d.com", s*10+i)
			case 5:
				key = "https://" + host + "/v1/"
			}
			auths[key] = authEntry(fmt.Sprintf("user%d-%d", s, i), alicePassword)
		}
		if s == 0 {
			auths["https://index.docker.io/v1/"] = authEntry("hub", alicePassword)
		}
		sources = append(sources, Source{Secret: mustParse(b, secretWith(fmt.Sprintf("s%d", s), auths))})
	}
	return NewKeyring(sources...)
}

var benchImages = []string{
	"nginx",
	"nginx:1.27",
	"docker.io/bitnami/redis:7.2",
	"reg0.example0.com/app:1.0",
	"reg1.example0.com/app@sha256:" + sha,
	"reg2.example1.com:5000/app:2",
	"reg3.example2.com/team/app:3",
	"reg3.example2.com/other/app:3",
	"x.example14.com/app",
	"quay.io/prometheus/node-exporter:v1.8.0",
	"ghcr.io/org/tool:v2",
	"registry.k8s.io/pause:3.10",
	"localhost:5000/dev/app",
	"reg16.example2.com/app",
	"reg5.example1.com/deep/path/app:latest",
	"gcr.io/distroless/static:nonroot",
}

func BenchmarkLookup(b *testing.B) {
	k := benchKeyring(b)
	if n := len(k.patterns); n < 45 {
		b.Fatalf("keyring has %d keys, want ~50", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for i := 0; b.Loop(); i++ {
		ms, err := k.Lookup(benchImages[i%len(benchImages)])
		if err != nil {
			b.Fatal(err)
		}
		matched += len(ms)
	}
	if matched == 0 {
		b.Fatal("no image matched")
	}
}
