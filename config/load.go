package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/lxnetd/lxnetd/config/files"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Options are the variable values given from outside the directory.
type Options struct {
	// Vars are --var name=value assignments. Values of string variables are
	// taken literally; other types are parsed as HCL expressions
	// (e.g. `["a","b"]`).
	Vars map[string]string
	// VarFiles are --var-file paths (read in order, later wins), relative to
	// the working directory.
	VarFiles []string
	// Environ is the process environment (os.Environ()); LXNET_VAR_name=value
	// entries assign variables like --var, with lower precedence than files.
	Environ []string
}

// EnvPrefix starts environment variables that assign configuration variables.
const EnvPrefix = "LXNET_VAR_"

// Load reads every configuration file in dir, evaluates it all-or-nothing and
// returns the desired state of every remote. cfg is nil when diags has
// errors; diags may hold warnings either way. It never contacts LXD.
func Load(dir string, opts Options) (*spec.Config, Diagnostics) {
	info, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, plainError("Cannot read configuration directory",
			fmt.Sprintf("%s. Give the directory that holds the *.hcl files (default /etc/lxnet.d).", errText(err)))
	case !info.IsDir():
		return nil, plainError("Configuration path is not a directory",
			fmt.Sprintf("%s is a file; lxnetd reads every *.hcl file of a directory. Give the directory instead.", dir))
	}
	l := newLoader(os.DirFS(dir), opts)
	if abs, err := filepath.Abs(dir); err == nil {
		l.dir = abs
	}
	// file and templatefile read through an os.Root: no symlink leads them
	// out of the directory (the files of the directory themselves may be
	// symlinks, as in a Kubernetes ConfigMap).
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, plainError("Cannot read configuration directory", errText(err)+".")
	}
	defer root.Close()
	l.funcs = functions(root.FS(), l.dir)
	cfg, d := l.run()
	d.dir = dir
	return cfg, d
}

// LoadFS is Load over any file system rooted at the configuration directory
// (tests and the fuzz target use an in-memory one).
func LoadFS(fsys fs.FS, opts Options) (*spec.Config, Diagnostics) {
	return newLoader(fsys, opts).run()
}

func (l *loader) run() (*spec.Config, Diagnostics) {
	defer relaxGC()()
	cfg := l.load()
	d := l.finish()
	if d.HasErrors() {
		return nil, d
	}
	return cfg, d
}

func plainError(summary, detail string) Diagnostics {
	return Diagnostics{diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}}
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}

// loader holds the state of one Load: everything read, the declarations, the
// evaluation results and the diagnostics so far.
type loader struct {
	fsys  fs.FS
	opts  Options
	diags hcl.Diagnostics

	sources map[string][]byte
	files   map[string]*hcl.File
	hash    hash.Hash
	funcs   map[string]function.Function

	vars     map[string]*varDecl
	varOrder []*varDecl
	varObj   cty.Value
	secrets  map[string]bool // strings that came from sensitive values: never printed

	decls  []*decl
	byKey  map[string]*decl
	byKind map[string][]*decl
	values map[string]cty.Value

	remotes   []*remoteResult
	networks  []*networkResult
	profiles  []*profileResult
	nodes     []*nodeResult
	services  []*serviceResult
	forwards  []*forwardResult
	acls      []*aclResult
	settings  spec.Settings
	nodeByID  map[string]*nodeResult // "remote/name"
	listeners []*listener

	noted map[string]bool // addresses already noted as not checked (notChecked)

	total   int // bytes read so far, against MaxTotalBytes
	omitted int // parser diagnostics dropped (maxParseDiagnostics)

	dir   string          // absolute configuration directory ("" for LoadFS), for relative certificate paths
	inDir map[string]bool // names of the files read from the directory (not --var-file)
}

func newLoader(fsys fs.FS, opts Options) *loader {
	return &loader{
		fsys:    fsys,
		opts:    opts,
		sources: map[string][]byte{},
		files:   map[string]*hcl.File{},
		hash:    sha256.New(),
		funcs:   functions(fsys, ""),
		vars:    map[string]*varDecl{},
		secrets: map[string]bool{},
		inDir:   map[string]bool{},
		byKey:   map[string]*decl{},
		byKind:  map[string][]*decl{},
		values:  map[string]cty.Value{},
		settings: spec.Settings{
			Owner: spec.DefaultOwner, ResyncInterval: spec.DefaultResyncInterval, MaxDeletes: spec.DefaultMaxDeletes,
			LeaseTTL: spec.DefaultLeaseTTL,
		},
	}
}

func (l *loader) add(diags ...*hcl.Diagnostic) { l.diags = append(l.diags, diags...) }

func (l *loader) errorf(subject *hcl.Range, summary, detailFormat string, args ...any) {
	l.add(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Subject: subject})
}

// Files lists the configuration files of dir that Load reads, in the order it
// reads them (lexical), as names relative to dir. Which files count, and
// that an entry with a configuration file's name that cannot be read stops
// everything, is decided by package config/files.
func Files(dir string) ([]string, error) { return files.ListErr(os.DirFS(dir)) }

func (l *loader) load() *spec.Config {
	names, unreadable, err := files.List(l.fsys)
	if err != nil {
		l.errorf(nil, "Cannot read configuration directory", "%s.", errText(err))
		return nil
	}
	for _, err := range unreadable {
		// Positioned at the file, like every other diagnostic of a file.
		var subject *hcl.Range
		var pe *fs.PathError
		if errors.As(err, &pe) {
			subject = &hcl.Range{Filename: pe.Path, Start: hcl.InitialPos, End: hcl.InitialPos}
			l.inDir[pe.Path] = true
		}
		l.errorf(subject, "Cannot read configuration file",
			"%s. A *.hcl entry that cannot be read as a file (such as a symlink to a missing file, or a directory) stops the load, so that its objects are not taken as removed; fix or remove it.", errText(err))
	}
	if len(unreadable) > 0 {
		return nil
	}
	if len(names) == 0 {
		l.add(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No configuration files",
			Detail: "The directory holds no *.hcl files, so nothing is desired on the implicit remote \"local\". Add a file such as main.hcl."})
	}
	srcs := l.readAll(names)
	if l.diags.HasErrors() {
		return nil // too large: parse nothing
	}
	var bodies, varBodies []*hclsyntax.Body
	for _, name := range names {
		src, ok := srcs[name]
		if !ok {
			continue
		}
		if files.Blank(src) {
			l.sources[name] = src
			pos := hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos}
			what := "is empty (0 bytes)"
			if len(src) > 0 {
				what = "holds only whitespace"
			}
			l.errorf(&pos, "Empty configuration file", "%s %s. %s", name, what, files.BlankHint)
			continue
		}
		body := l.parse(name, src)
		if body == nil {
			continue
		}
		if files.IsVars(name) {
			varBodies = append(varBodies, body)
		} else {
			bodies = append(bodies, body)
		}
	}
	if l.diags.HasErrors() {
		// Syntax errors: the structure is unreliable, evaluating would
		// only add noise.
		return nil
	}
	l.declare(bodies)
	l.loadVariables(varBodies)
	l.resolveReferences()
	l.evaluate()
	// The checks across objects run even when some blocks failed: every
	// error is reported in one run (build returns nil when there are any).
	return l.build()
}

// readAll reads the configuration files before any is parsed, so that the
// size limits (MaxFileBytes, MaxTotalBytes) stop a load before the parser
// spends time and memory on it.
func (l *loader) readAll(names []string) map[string][]byte {
	srcs := make(map[string][]byte, len(names))
	for _, name := range names {
		l.inDir[name] = true
		src, ok := l.readChecked(name, func() ([]byte, bool, error) { return readLimited(l.fsys, name) }, "Cannot read configuration file", "")
		if !ok {
			continue
		}
		if l.total += len(src); l.total > MaxTotalBytes {
			l.add(tooMuchError(name, l.total))
			break
		}
		srcs[name] = src
	}
	return srcs
}

// parse records a file's source (for snippets and the hash) and parses it.
func (l *loader) parse(name string, src []byte) *hclsyntax.Body {
	l.sources[name] = src
	fmt.Fprintf(l.hash, "file %q %d\n", name, len(src))
	l.hash.Write(src)
	if d := checkSource(name, src); d != nil {
		l.add(d)
		return nil
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if len(diags) > maxParseDiagnostics {
		// A garbage file: the first ones say it, the rest only cost memory.
		l.omitted += len(diags) - maxParseDiagnostics
		diags = diags[:maxParseDiagnostics]
	}
	l.add(diags...)
	if f == nil {
		return nil
	}
	l.files[name] = f
	body, _ := f.Body.(*hclsyntax.Body)
	if diags.HasErrors() {
		return nil
	}
	return body
}

// finish returns the diagnostics with every sensitive value removed.
func (l *loader) finish() Diagnostics {
	for _, d := range l.diags {
		// hcl gives no suggestion for a typo in an attribute of a block's
		// object (network.x.nmae); the attribute names are known here.
		const prefix = "This object does not have an attribute named "
		if d.Summary == "Unsupported attribute" && strings.HasPrefix(d.Detail, prefix) {
			name, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(d.Detail, prefix), "."))
			block, isBlock := blockOf(d.Expression)
			switch s := suggest(name, objectAttributes); {
			case err != nil || s == "":
			case s == name && isBlock:
				// A block's own attribute missing: the block has for_each or
				// count, so its value is the collection of its instances.
				d.Detail += fmt.Sprintf(" %s is declared with for_each or count, so it holds one object per instance; pick one first, like %s[\"KEY\"].%s (for_each) or %s[0].%s (count).",
					block, block, name, block, name)
			case s != name:
				d.Detail += fmt.Sprintf(" Did you mean %q?", s)
			}
		}
		explainUnmanagedBlock(d) // load balancers, peers (unmanaged.go)
		// Operators coming from Terraform reach for dynamic blocks.
		if d.Summary == "Unsupported block type" && strings.HasPrefix(d.Detail, `Blocks of type "dynamic" `) {
			d.Detail += " lxnetd has no dynamic blocks: write each device or port block out, or repeat the whole enclosing block with for_each."
		}
	}
	// The same expression evaluated for several for_each keys can fail the
	// same way; say it once.
	type diagKey struct {
		sev             hcl.DiagnosticSeverity
		summary, detail string
		subject         hcl.Range
	}
	seen := map[diagKey]bool{}
	kept := l.diags[:0]
	for _, d := range l.diags {
		k := diagKey{sev: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.subject = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		kept = append(kept, d)
	}
	l.diags = kept
	// Report in source order (like a compiler), diagnostics without a
	// position (command-line values, unreadable files) first.
	sort.SliceStable(l.diags, func(i, j int) bool {
		a, b := l.diags[i].Subject, l.diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	for _, d := range l.diags {
		d.Summary = l.scrub(d.Summary)
		d.Detail = l.scrub(d.Detail)
		if d.EvalContext != nil && d.Expression != nil && l.exprTouchesSensitive(d.Expression, d.EvalContext) {
			d.Expression, d.EvalContext = nil, nil
		}
	}
	return Diagnostics{diags: l.diags, sources: l.sources, files: l.files, inDir: l.inDir, omitted: l.omitted}
}

// blockOf names the block a reference such as network.lan.name starts
// from ("network.lan"); ok is false when it does not start from a block.
func blockOf(expr hcl.Expression) (string, bool) {
	st, ok := expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) < 3 {
		return "", false
	}
	a, ok := st.Traversal[1].(hcl.TraverseAttr)
	if !ok {
		return "", false
	}
	switch root := st.Traversal.RootName(); root {
	case kindNetwork, kindProfile, kindNode, kindService, kindForward, kindACL:
		return root + "." + a.Name, true
	}
	return "", false
}

func (l *loader) hashSum() string { return hex.EncodeToString(l.hash.Sum(nil)) }

// objectAttributes are the attribute names of the objects blocks evaluate to
// (remote.x, network.x, node.x, ...), for suggestions.
var objectAttributes = []string{
	"name", "remote", "address", "project", "type", "description", "config", "image", "state",
	"target", "profiles", "ipv4", "nic", "network", "listen_address",
}
