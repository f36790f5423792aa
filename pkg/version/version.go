// Package version holds the build's version, stamped by goreleaser or the
// Makefile through -ldflags "-X", with the Go build info as a fallback.
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped at link time, e.g.
// -X github.com/imgtrust/kubectl-imgtrust/pkg/version.version=v0.1.0
var (
	version = ""
	commit  = ""
	date    = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the stamped values, filling what was not stamped from the
// module build info (`go install …@vX` records the version, VCS builds the
// revision and time).
func Get() Info {
	info := Info{
		Version:   version,
		Commit:    commit,
		Date:      date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.Date == "":
				info.Date = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// UserAgent is what the plugin sends to registries.
func UserAgent() string { return "kubectl-imgtrust/" + Get().Version }
