// Package pullsecret parses image pull secrets and matches them to images the
// way the kubelet does, so that the credentials imgtrust tries, and the
// coverage it reports, are the ones a node would use.
//
// # Parsing
//
// [Parse] reads Secrets of type kubernetes.io/dockerconfigjson (data key
// ".dockerconfigjson", a JSON object with "auths") and the legacy
// kubernetes.io/dockercfg (data key ".dockercfg", the "auths" map itself).
// Like the kubelet it decodes "auth" (base64 of user:password, padded or not)
// into a username and password, and "auth" wins over the username/password
// fields. The kubelet reads only username, password, email and auth:
// identitytoken and registrytoken in a pull secret are ignored.
//
// An entry without a username ("{}", null, only a token, only a password)
// is kept, as the kubelet keeps it: an empty credential ([Entry.Empty],
// [Match.Empty]) that pulls anonymously and is tried in its place, so it
// can come before a later matching credential. Its credential ID is
// registry.Anonymous's, and a problem line says so. A key with no host
// (":5000", "://", "https://:5000/v2/", "") can match no image and is
// reported as an invalid entry.
//
// A secret that is unusable as a whole is an *[InvalidError]. Problems with
// single entries are kept in [Secret.Problems] while the good entries are
// kept. [Secret.FailsPulls] and [InvalidError.FailsPulls] say the kubelet's
// own decoder rejects the secret (any JSON type error, bad base64 in "auth",
// "auth" without ":"): the kubelet then fails every image pull of a pod that
// references it, not only the pulls the broken entry would serve.
//
// No error, problem or String/GoString/Format output of this package holds a
// password, token or "auth" value; usernames and registry keys may appear.
// Credential IDs are keyed (HMAC-SHA-256 with a per-process random key,
// truncated to 16 hex digits): equal credentials get equal IDs within one
// run, and an ID cannot be used to guess a password offline.
//
// # Matching (kubelet pkg/credentialprovider, BasicDockerKeyring)
//
//   - The image is parsed as the kubelet parses it (distribution/reference
//     ParseNormalizedNamed) and matched on that normalised name, whose
//     Docker Hub host is "docker.io": "nginx" is matched as
//     "docker.io/library/nginx", "REGISTRY/app" as host "REGISTRY".
//   - A key gets "https://" prepended unless it starts with "http://" or
//     "https://" (case-sensitive), and is parsed as a URL. A path starting
//     with "/v1/" or "/v2/" loses those three characters; a path of "" or "/"
//     leaves the key as the bare host[:port]. "https://quay.io/v1/" is
//     "quay.io", "reg.io/v2/team" is "reg.io/team", but "reg.io/v2" (no
//     trailing slash) stays "reg.io/v2". Keys that do not parse are ignored.
//   - Host labels are compared one by one as globs ([path.Match]); the label
//     count must be equal, so "*.example.com" matches "a.example.com" but not
//     "example.com" or "a.b.example.com".
//   - Ports must be equal: "reg.io" does not cover "reg.io:5000" and
//     "reg.io:443" does not cover "reg.io".
//   - A key's path must be a plain string prefix of "/<repository>" — not at
//     a "/" boundary: "reg.io/team" also covers "reg.io/teamwork/app".
//   - Keys from all sources are merged into one index sorted in reverse
//     lexical order ("quay.io/coreos" before "quay.io"); a key's credentials
//     come in source order. Every matching credential is returned; the
//     kubelet tries them in that order.
//   - Docker Hub: only keys whose host is "docker.io" (or a glob that
//     matches it, like "*.io") match directly. Keys whose host is
//     "index.docker.io" ("index.docker.io", "https://index.docker.io/v1/",
//     "index.docker.io/v2/") are used only as a fallback, and only when no
//     other key matched the image at all. "registry-1.docker.io" and
//     "index.docker.io/<path>" never match a Docker Hub image.
//
// # Deliberate differences from the kubelet
//
//   - Within one secret, two keys that normalise to the same index key
//     (e.g. "index.docker.io" and "https://index.docker.io/v1/") come in
//     key order, where the kubelet's order is random (map iteration).
//   - The kubelet's "index.docker.io" fallback also hands Docker Hub
//     credentials to images on single-label hosts without "." or ":"
//     ("localhost/app", "REGISTRY/app"); here it applies to Docker Hub
//     images only, so a credential is only ever sent to the registry it
//     names.
//   - An entry with a password but no username is sent as no credential
//     (containerd's behaviour); the kubelet passes the lone password to the
//     runtime.
//   - A secret the kubelet's decoder rejects makes every pull of the pod
//     fail there; here its good entries are still parsed and the secret is
//     flagged ([Secret.FailsPulls], [InvalidError.FailsPulls]).
//   - Keys with no host are reported as invalid entries; the kubelet indexes
//     them, but they can match nothing, so lookups agree.
//   - Credential providers (kubelet plugins) are not run; the local docker
//     config stands in for the node's credentials.
//
// # Sources and order
//
// The kubelet merges a pod's imagePullSecrets into one keyring. The
// ServiceAccount admission plugin copies the service account's
// imagePullSecrets into a pod only when the pod names none, so for a
// template use [TemplateSources]. After the secrets the kubelet tries the
// node's own credentials (docker config, credential provider plugins); here
// the local docker config stands in for them ([Keyring.Credentials]). When no
// credential matches at all the kubelet pulls anonymously; when some match
// and all fail, the pull fails — it does not fall back to anonymous.
package pullsecret
