package pin

import (
	"fmt"
	"strconv"

	"github.com/imgtrust/kubectl-imgtrust/pkg/manifest"
)

// ApplyChanges sets the changed images in an unstructured object (such as
// unstructured.Unstructured.Object), for printing the pinned object or
// diffing it. Every path must hold the change's old image; otherwise nothing
// is changed and an error is returned, as the server would do with JSONPatch.
func ApplyChanges(obj map[string]any, changes []Change) error {
	type target struct {
		set func(string)
		new string
	}
	targets := make([]target, 0, len(changes))
	for _, c := range changes {
		tokens, err := manifest.SplitPointer(c.Container.Path)
		if err != nil {
			return err
		}
		get, set, err := locate(obj, tokens)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Container.Path, err)
		}
		if got, ok := get().(string); !ok || got != c.Old {
			return fmt.Errorf("%s is %v, not %q: the object changed", c.Container.Path, get(), c.Old)
		}
		targets = append(targets, target{set: set, new: c.New})
	}
	// Only now that every path checked out, write.
	for _, t := range targets {
		t.set(t.new)
	}
	return nil
}

// Landed tells, from an object re-read after its patch request was cut
// (e.g. by Ctrl-C), whether the patch was applied. A patch is atomic on the
// server, so every path holds either its old image (false) or its new one
// (true); anything else means someone changed the object since, an error.
func Landed(obj map[string]any, changes []Change) (bool, error) {
	if len(changes) == 0 {
		return false, fmt.Errorf("no changes to look for")
	}
	applied, unchanged := 0, 0
	for _, c := range changes {
		tokens, err := manifest.SplitPointer(c.Container.Path)
		if err != nil {
			return false, err
		}
		get, _, err := locate(obj, tokens)
		if err != nil {
			return false, fmt.Errorf("%s: %w", c.Container.Path, err)
		}
		switch got, _ := get().(string); got {
		case c.New:
			applied++
		case c.Old:
			unchanged++
		default:
			return false, fmt.Errorf("%s is %q, neither %q nor %q: the object changed meanwhile", c.Container.Path, got, c.Old, c.New)
		}
	}
	if applied > 0 && unchanged > 0 {
		return false, fmt.Errorf("%d of %d images are pinned: the object changed meanwhile", applied, len(changes))
	}
	return applied > 0, nil
}

// locate finds the value at a JSON pointer's tokens, returning a getter and
// a setter for it.
func locate(node any, tokens []string) (get func() any, set func(string), err error) {
	if len(tokens) == 0 {
		return nil, nil, fmt.Errorf("empty path")
	}
	for i, t := range tokens {
		last := i == len(tokens)-1
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[t]
			if !ok {
				return nil, nil, fmt.Errorf("no field %q", t)
			}
			if last {
				return func() any { return n[t] }, func(s string) { n[t] = s }, nil
			}
			node = v
		case []any:
			idx, err := strconv.Atoi(t)
			if err != nil || idx < 0 || idx >= len(n) {
				return nil, nil, fmt.Errorf("no list item %q", t)
			}
			if last {
				return func() any { return n[idx] }, func(s string) { n[idx] = s }, nil
			}
			node = n[idx]
		default:
			return nil, nil, fmt.Errorf("%q is inside a %T, not an object or list", t, node)
		}
	}
	return nil, nil, fmt.Errorf("unreachable")
}
