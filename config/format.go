package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical HCL layout (indentation, aligned equals
// signs, spacing), as `lxnetd fmt` writes it. A file that does not parse is
// returned unchanged with its syntax diagnostics: formatting never guesses.
func Format(filename string, src []byte) ([]byte, Diagnostics) {
	d := Diagnostics{sources: map[string][]byte{filename: src}, files: map[string]*hcl.File{}}
	// The same limits as Load, before any parser sees the file.
	if len(src) > MaxFileBytes {
		d.diags = hcl.Diagnostics{tooBigError(filename)}
		return src, d
	}
	if diag := checkSource(filename, src); diag != nil {
		d.diags = hcl.Diagnostics{diag}
		return src, d
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if f != nil {
		d.files[filename] = f
	}
	if diags.HasErrors() {
		d.diags = diags
		return src, d
	}
	return hclwrite.Format(src), d
}

// FormatFile reads path, no more than MaxFileBytes of it (a huge file written
// to a *.hcl name is refused without being read whole), and formats it as
// Format does. src is nil when the file was too large.
func FormatFile(path string) (src, out []byte, d Diagnostics, err error) {
	src, tooBig, err := readFileLimited(path)
	if err != nil {
		return nil, nil, d, err
	}
	if tooBig {
		d.diags = hcl.Diagnostics{tooBigError(path)}
		return nil, nil, d, nil
	}
	out, d = Format(path, src)
	return src, out, d, nil
}
