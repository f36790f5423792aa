// Package release checks the release artefacts kept in the repository (the
// krew template and manifest, the RBAC manifests) against what the release
// builds. krew's own rules are checked by krew's validate-krew-manifest in
// make release-check, and its installs by the real krew in the e2e suite;
// only the release-specific rules live here.
package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

const (
	repoRoot     = "../.."
	templateFile = ".krew.yaml"
	manifestFile = "plugins/imgtrust.yaml"
	homepage     = "https://github.com/imgtrust/kubectl-imgtrust"
)

// krewPlugin is krew's index.Plugin, decoded strictly so a misspelt field
// fails here instead of being silently ignored by krew.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string         `json:"version"`
		Homepage         string         `json:"homepage"`
		ShortDescription string         `json:"shortDescription"`
		Description      string         `json:"description"`
		Caveats          string         `json:"caveats"`
		Platforms        []krewPlatform `json:"platforms"`
	} `json:"spec"`
}

type krewPlatform struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	Sha256   string                `json:"sha256"`
	Bin      string                `json:"bin"`
	Files    []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

type osArch struct{ OS, Arch string }

func (p osArch) String() string { return p.OS + "/" + p.Arch }

// goreleaserConfig is the part of .goreleaser.yaml the manifest depends on.
type goreleaserConfig struct {
	Builds []struct {
		ID     string   `json:"id"`
		Binary string   `json:"binary"`
		Goos   []string `json:"goos"`
		Goarch []string `json:"goarch"`
		Ignore []struct {
			Goos   string `json:"goos"`
			Goarch string `json:"goarch"`
		} `json:"ignore"`
	} `json:"builds"`
	Archives []struct {
		NameTemplate    string   `json:"name_template"`
		Formats         []string `json:"formats"`
		WrapInDirectory any      `json:"wrap_in_directory"`
		FormatOverrides []struct {
			Goos    string   `json:"goos"`
			Formats []string `json:"formats"`
		} `json:"format_overrides"`
	} `json:"archives"`
	Release struct {
		GitHub struct {
			Owner string `json:"owner"`
			Name  string `json:"name"`
		} `json:"github"`
	} `json:"release"`
}

// releaseTarget is one goreleaser build target and what krew must install
// for it.
type releaseTarget struct {
	osArch
	archive string // file name, e.g. kubectl-imgtrust_v0.1.0_linux_amd64.tar.gz
	bin     string // path of the binary inside the archive
}

// loadTargets derives every target and its archive name for tag from
// .goreleaser.yaml, so the manifest cannot drift from what is built.
func loadTargets(t *testing.T, tag string) []releaseTarget {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg goreleaserConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("parsing .goreleaser.yaml: %v", err)
	}
	if len(cfg.Builds) != 1 || len(cfg.Archives) != 1 {
		t.Fatalf(".goreleaser.yaml: want one build and one archive (what the krew manifest models), got %d and %d", len(cfg.Builds), len(cfg.Archives))
	}
	if got := "https://github.com/" + cfg.Release.GitHub.Owner + "/" + cfg.Release.GitHub.Name; got != homepage {
		t.Fatalf(".goreleaser.yaml releases to %s, want %s (the krew homepage and URIs)", got, homepage)
	}
	build, archive := cfg.Builds[0], cfg.Archives[0]
	if archive.WrapInDirectory != nil && archive.WrapInDirectory != false {
		t.Fatalf(".goreleaser.yaml wraps archives in a directory (%v); the krew bin paths assume the binary at the root", archive.WrapInDirectory)
	}
	nameTmpl, err := template.New("name_template").Option("missingkey=error").Parse(archive.NameTemplate)
	if err != nil {
		t.Fatalf("archive name_template: %v", err)
	}
	ignored := map[osArch]bool{}
	for _, ig := range build.Ignore {
		ignored[osArch{ig.Goos, ig.Goarch}] = true
	}
	var targets []releaseTarget
	for _, goos := range build.Goos {
		for _, goarch := range build.Goarch {
			p := osArch{goos, goarch}
			if ignored[p] {
				continue
			}
			var name bytes.Buffer
			data := map[string]string{"Tag": tag, "Os": goos, "Arch": goarch, "ProjectName": "kubectl-imgtrust"}
			if err := nameTmpl.Execute(&name, data); err != nil {
				t.Fatalf("archive name_template uses more than this test models (%v): %v", data, err)
			}
			formats := archive.Formats
			for _, o := range archive.FormatOverrides {
				if o.Goos == goos {
					formats = o.Formats
				}
			}
			if len(formats) != 1 {
				t.Fatalf("%s: want one archive format, got %v", p, formats)
			}
			bin := build.Binary
			if goos == "windows" {
				bin += ".exe"
			}
			targets = append(targets, releaseTarget{osArch: p, archive: name.String() + "." + formats[0], bin: bin})
		}
	}
	if len(targets) == 0 {
		t.Fatal(".goreleaser.yaml builds no targets")
	}
	return targets
}

// renderTemplate renders .krew.yaml as krew-release-bot does: the template
// data is {TagName}, and addURIAndSha(url, tag) renders url with the tag and
// expands to a uri line plus a sha256 line indented by four spaces.
func renderTemplate(t *testing.T, tag string, shaFor func(uri string) string) []byte {
	t.Helper()
	funcs := template.FuncMap{
		"addURIAndSha": func(uriTemplate, tag string) (string, error) {
			var uri bytes.Buffer
			tmpl, err := template.New("uri").Parse(uriTemplate)
			if err != nil {
				return "", err
			}
			if err := tmpl.Execute(&uri, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri.String(), shaFor(uri.String())), nil
		},
	}
	tmpl, err := template.New(templateFile).Funcs(funcs).ParseFiles(filepath.Join(repoRoot, templateFile))
	if err != nil {
		t.Fatalf("parsing %s: %v", templateFile, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, struct{ TagName string }{tag}); err != nil {
		t.Fatalf("rendering %s: %v", templateFile, err)
	}
	return out.Bytes()
}

func fakeSHA256(uri string) string {
	sum := sha256.Sum256([]byte(uri))
	return hex.EncodeToString(sum[:])
}

func decodePlugin(t *testing.T, what string, raw []byte) krewPlugin {
	t.Helper()
	var p krewPlugin
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatalf("%s is not a krew plugin manifest: %v\n%s", what, err, raw)
	}
	return p
}

// validatePlugin applies the release-specific checks that krew's own
// validate-krew-manifest (run by make release-check) does not know: one
// platform per goreleaser target, pointing at that target's archive and
// binary, and krew-release-bot's homepage rule.
func validatePlugin(t *testing.T, what string, p krewPlugin) {
	t.Helper()
	// krew-release-bot only updates plugins whose homepage is under the
	// releasing repository's owner.
	if !strings.HasPrefix(p.Spec.Homepage, "https://github.com/imgtrust/") {
		t.Errorf("%s: homepage %q is not under https://github.com/imgtrust/", what, p.Spec.Homepage)
	}
	tag := p.Spec.Version
	if _, err := version.ParseSemantic(tag); err != nil || !strings.HasPrefix(tag, "v") {
		t.Fatalf("%s: version %q, want semver with a leading v (%v)", what, tag, err)
	}
	targets := loadTargets(t, tag)
	covered := map[osArch]bool{}
	for i, pl := range p.Spec.Platforms {
		where := fmt.Sprintf("%s: platforms[%d]", what, i)
		s, err := metav1.LabelSelectorAsSelector(pl.Selector)
		if err != nil {
			t.Errorf("%s: selector: %v", where, err)
			continue
		}
		// One archive per os/arch: a platform must select exactly one
		// built target, or krew would install it where we never built.
		var matched []releaseTarget
		for _, tg := range targets {
			if s.Matches(labels.Set{"os": tg.OS, "arch": tg.Arch}) {
				matched = append(matched, tg)
			}
		}
		if len(matched) != 1 {
			t.Errorf("%s: selector %v matches %d built targets, want exactly one", where, pl.Selector.MatchLabels, len(matched))
			continue
		}
		tg := matched[0]
		covered[tg.osArch] = true
		wantURI := homepage + "/releases/download/" + tag + "/" + tg.archive
		if pl.URI != wantURI {
			t.Errorf("%s (%s): uri %q, want %q (the goreleaser archive)", where, tg.osArch, pl.URI, wantURI)
		}
		if path.Clean(pl.Bin) != tg.bin {
			t.Errorf("%s (%s): bin %q, want %q (the binary at the archive root)", where, tg.osArch, pl.Bin, tg.bin)
		}
	}
	for _, tg := range targets {
		if !covered[tg.osArch] {
			t.Errorf("%s: no platform for %s, which .goreleaser.yaml builds", what, tg.osArch)
		}
	}
}

func TestKrewTemplateRendersAValidManifest(t *testing.T) {
	for _, tag := range []string{"v0.1.0", "v1.12.3-rc.1"} {
		t.Run(tag, func(t *testing.T) {
			rendered := renderTemplate(t, tag, fakeSHA256)
			p := decodePlugin(t, templateFile+" rendered for "+tag, rendered)
			validatePlugin(t, templateFile, p)
			if p.Spec.Version != tag {
				t.Errorf("rendered version %q, want %q", p.Spec.Version, tag)
			}
			if p.Spec.Homepage != homepage {
				t.Errorf("homepage %q, want %q", p.Spec.Homepage, homepage)
			}
		})
	}
}

func TestKrewManifestIsValid(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, manifestFile))
	if err != nil {
		t.Fatal(err)
	}
	p := decodePlugin(t, manifestFile, raw)
	validatePlugin(t, manifestFile, p)
}

// TestKrewManifestIsRenderedFromTemplate re-renders the template with the
// manifest's own version and checksums: any hand edit other than the
// checksums themselves (which hack/render-krew.sh takes from the archives)
// shows up as a difference.
func TestKrewManifestIsRenderedFromTemplate(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, manifestFile))
	if err != nil {
		t.Fatal(err)
	}
	p := decodePlugin(t, manifestFile, raw)
	sums := map[string]string{}
	for _, pl := range p.Spec.Platforms {
		sums[pl.URI] = pl.Sha256
	}
	want := renderTemplate(t, p.Spec.Version, func(uri string) string {
		sum, ok := sums[uri]
		if !ok {
			t.Errorf("%s has no platform for %s, which the template names", manifestFile, uri)
		}
		return sum
	})
	// hack/render-krew.sh prepends a comment naming where the file came from.
	body := raw
	for bytes.HasPrefix(body, []byte("#")) {
		_, body, _ = bytes.Cut(body, []byte("\n"))
	}
	if len(body) == len(raw) {
		t.Errorf("%s lacks the header comment hack/render-krew.sh writes", manifestFile)
	}
	if !bytes.Equal(body, want) {
		t.Errorf("%s differs from %s rendered for %s; run hack/render-krew.sh instead of editing it.\n--- got\n%s\n--- want\n%s", manifestFile, templateFile, p.Spec.Version, body, want)
	}
}
