// Package pin turns mutable image references into digest-pinned ones. It
// chooses the digest for each container (what its pods run, or what the
// registry says), builds one atomic patch per live object, and rewrites
// manifest files in place without disturbing anything but the image strings.
//
// It does no I/O: callers list objects, query registries and send patches.
package pin
