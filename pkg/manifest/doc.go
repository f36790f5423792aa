// Package manifest reads manifest files (-f) exactly once, the same way for
// every command: which files a path names, their bytes and encoding (UTF-8
// with or without a BOM, UTF-16 with a BOM), their YAML documents or JSON
// stream as yaml.v3 nodes, and where a node is written in editor terms
// (lines and UTF-16 columns). audit, pin and SARIF all read through it, so
// what one command sees the others see too.
//
// It knows nothing of Kubernetes beyond the file extensions kubectl reads.
package manifest
