// Package sarifcheck validates SARIF documents against the official SARIF
// 2.1.0 schema (OASIS, errata 01), kept here as test data, for the unit and
// e2e tests of every SARIF output.
package sarifcheck

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaURI is the schema's own id.
const schemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// SchemaFile is the schema's path relative to this package.
const SchemaFile = "sarif-schema-2.1.0.json"

// The compiled schema, once per test binary.
var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// Validate checks a SARIF document against the official schema at
// schemaPath.
func Validate(doc []byte, schemaPath string) error {
	schemaOnce.Do(func() {
		raw, err := os.ReadFile(schemaPath)
		if err != nil {
			schemaErr = err
			return
		}
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(schemaURI, s); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile(schemaURI)
	})
	if schemaErr != nil {
		return fmt.Errorf("the SARIF schema: %w", schemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return schema.Validate(v)
}
