package cmd

import (
	"bytes"
	"flag"
	"log"
	"os"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

func TestGoLogIsBoundedAndRedacted(t *testing.T) {
	line := "Unsolicited response received on idle HTTP channel starting with \"Authorization: Bearer abcdefghijklmnopqrst " + strings.Repeat("x", 5000) + "\""
	for _, tt := range []struct {
		verbosity string
		wantLog   bool
	}{{"0", false}, {"4", true}} {
		t.Run("v="+tt.verbosity, func(t *testing.T) {
			fs := flag.NewFlagSet("klog", flag.ContinueOnError)
			klog.InitFlags(fs)
			for k, v := range map[string]string{"v": tt.verbosity, "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
				if err := fs.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			klog.SetOutput(&buf)
			t.Cleanup(func() {
				_ = fs.Set("v", "0")
				_ = fs.Set("logtostderr", "true")
				klog.SetOutput(os.Stderr)
				log.SetOutput(os.Stderr)
			})
			routeGoLog()
			log.Print(line)
			klog.Flush()
			got := buf.String()
			if !tt.wantLog {
				if got != "" {
					t.Errorf("logged %q at -v=0, want nothing", got)
				}
				return
			}
			if !strings.Contains(got, "Unsolicited response") || len(got) > 600 || strings.Contains(got, "abcdefghijklmnopqrst") {
				t.Errorf("logged %d bytes %q; want one bounded line, the bearer value redacted", len(got), got)
			}
		})
	}
}
