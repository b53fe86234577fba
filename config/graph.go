package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// decl is one evaluable declaration: a local value, the lxnet block, or a
// remote/network/profile/node/service/forward block. Declarations form a
// graph through the references in their expressions and are evaluated in
// dependency order, whatever file and order they were written in.
type decl struct {
	kind  string
	name  string // block label or local name
	key   string // "network.br0", "local.x", "lxnet"
	index int    // declaration order, for stable evaluation and messages

	block   *hcl.Block     // nil for locals
	attr    *hcl.Attribute // the local's attribute
	content *hcl.BodyContent
	nested  []*nestedBlock

	deps     []string             // keys this declaration refers to, in first-use order
	depRange map[string]hcl.Range // where it first refers to each
	bad      bool                 // a reference could not be resolved: do not evaluate
	value    bool                 // evaluated successfully (its value is usable)
}

type nestedBlock struct {
	block   *hcl.Block
	content *hcl.BodyContent
}

// declare walks every file body and records declarations and variables.
func (l *loader) declare(bodies []*hclsyntax.Body) {
	var lxnetSeen *hcl.Block
	for _, body := range bodies {
		content, diags := body.Content(rootSchema)
		for _, d := range diags {
			if d.Summary == "Unsupported argument" {
				d.Detail = "Top-level arguments are not allowed in configuration files; only blocks (lxnet, remote, variable, locals, network, profile, node, service, forward, acl). Variable values go in *.vars.hcl files."
			}
		}
		l.add(diags...)
		for _, block := range content.Blocks {
			switch block.Type {
			case kindVariable:
				l.declareVariable(block)
			case kindLocals:
				attrs, diags := block.Body.JustAttributes()
				l.add(diags...)
				for _, a := range attributesInOrder(attrs) {
					key := kindLocal + "." + a.Name
					if prev, ok := l.byKey[key]; ok {
						l.errorf(a.NameRange.Ptr(), "Duplicate local value definition",
							"A local value named %q was already defined at %s. Local value names must be unique across all files.", a.Name, prev.attr.NameRange)
						continue
					}
					l.addDecl(&decl{kind: kindLocal, name: a.Name, key: key, attr: a,
						content: &hcl.BodyContent{Attributes: hcl.Attributes{a.Name: a}}})
				}
			case kindLxnet:
				if lxnetSeen != nil {
					l.errorf(block.DefRange.Ptr(), "Duplicate lxnet block",
						"An lxnet block was already declared at %s; there can be at most one. Merge the two.", lxnetSeen.DefRange)
					continue
				}
				lxnetSeen = block
				l.declareBlock(block, kindLxnet, kindLxnet)
			default:
				name := block.Labels[0]
				if !hclsyntax.ValidIdentifier(name) {
					l.errorf(block.LabelRanges[0].Ptr(), "Invalid "+block.Type+" name",
						"A %s block name must start with a letter or underscore and may contain only letters, digits, underscores and dashes, because it is used in references like %s.NAME. To give the LXD object another name, set name = \"...\" inside the block.", block.Type, block.Type)
					continue
				}
				key := block.Type + "." + name
				if prev, ok := l.byKey[key]; ok {
					l.errorf(block.LabelRanges[0].Ptr(), "Duplicate "+block.Type+" block",
						"A %s block named %q was already declared at %s. Block names must be unique per kind across all files; to create several objects from one block, use for_each or count.", block.Type, name, prev.block.DefRange)
					continue
				}
				l.declareBlock(block, block.Type, key)
			}
		}
	}
}

func (l *loader) addDecl(d *decl) {
	d.index = len(l.decls)
	d.depRange = map[string]hcl.Range{}
	l.decls = append(l.decls, d)
	l.byKey[d.key] = d
	l.byKind[d.kind] = append(l.byKind[d.kind], d)
}

func (l *loader) declareBlock(block *hcl.Block, kind, key string) {
	name := key
	if len(block.Labels) > 0 {
		name = block.Labels[0]
	}
	content, diags := block.Body.Content(kindSchemas[kind])
	l.add(diags...)
	d := &decl{kind: kind, name: name, key: key, block: block, content: content}
	for _, nb := range content.Blocks {
		nc, diags := nb.Body.Content(nestedSchema(kind, nb.Type))
		l.add(diags...)
		d.nested = append(d.nested, &nestedBlock{block: nb, content: nc})
	}
	if !expandable(kind) {
		for _, n := range []string{"for_each", "count"} {
			if a, ok := content.Attributes[n]; ok {
				l.errorf(a.NameRange.Ptr(), "Unsupported argument", "%s blocks cannot use %s.", kind, n)
			}
		}
	}
	l.addDecl(d)
}

// expressions lists every expression of a declaration, nested blocks included.
func (d *decl) expressions() []hcl.Expression {
	var out []hcl.Expression
	add := func(attrs hcl.Attributes) {
		for _, a := range attributesInOrder(attrs) {
			out = append(out, a.Expr)
		}
	}
	add(d.content.Attributes)
	for _, nb := range d.nested {
		add(nb.content.Attributes)
	}
	return out
}

// resolveReferences checks every reference of every declaration and records
// the dependency edges.
func (l *loader) resolveReferences() {
	for _, d := range l.decls {
		forEach, hasForEach := d.content.Attributes["for_each"]
		_, hasCount := d.content.Attributes["count"]
		for _, expr := range d.expressions() {
			for _, tr := range expr.Variables() {
				inForEach := hasForEach && expr == forEach.Expr
				l.resolveTraversal(d, tr, hasForEach && !inForEach, hasCount)
			}
		}
	}
}

func (l *loader) resolveTraversal(d *decl, tr hcl.Traversal, eachOK, countOK bool) {
	root := tr.RootName()
	rng := tr.SourceRange()
	step := ""
	if len(tr) > 1 {
		if a, ok := tr[1].(hcl.TraverseAttr); ok {
			step = a.Name
		}
	}
	switch root {
	case "var":
		if step == "" {
			l.errorf(&rng, "Invalid reference", "A reference to var must name a variable, like var.name.")
			d.bad = true
			return
		}
		if _, ok := l.vars[step]; !ok {
			l.errorf(&rng, "Reference to undeclared input variable",
				"An input variable named %q has not been declared. Add a variable %q block.%s", step, step, l.suggestVar(step))
			d.bad = true
		}
		return
	case "each":
		if !eachOK {
			l.errorf(&rng, `Reference to "each" in context without for_each`,
				`The "each" object can be used only in network, profile, node, service, forward and acl blocks, and only when the for_each argument is set (and not inside for_each itself).`)
			d.bad = true
		} else if step != "key" && step != "value" {
			l.errorf(&rng, "Invalid each attribute", `The "each" object has two attributes: each.key and each.value.`)
			d.bad = true
		}
		return
	case "count":
		if !countOK {
			l.errorf(&rng, `Reference to "count" in non-counted context`,
				`The "count" object can be used only in network, profile, node, service, forward and acl blocks, and only when the count argument is set (and not inside count itself).`)
			d.bad = true
		} else if step != "index" {
			l.errorf(&rng, "Invalid count attribute", `The "count" object has one attribute: count.index.`)
			d.bad = true
		}
		return
	case kindLocal, kindRemote, kindNetwork, kindProfile, kindNode, kindService, kindForward, kindACL:
	default:
		roots := []string{"var", "local", "remote", "network", "profile", "node", "service", "forward", "acl", "each", "count"}
		hint := ""
		if s := suggest(root, roots); s != "" {
			hint = fmt.Sprintf(" Did you mean %q?", s)
		}
		l.errorf(&rng, "Reference to undeclared object",
			"There is nothing named %q. References start with var, local, remote, network, profile, node, service, forward or acl (and each or count inside blocks that set for_each or count).%s", root, hint)
		d.bad = true
		return
	}
	kind := root
	if step == "" {
		if kind == kindLocal || len(tr) > 1 {
			l.errorf(&rng, "Invalid reference", "A reference to %s must name one, like %s.NAME.", root, root)
			d.bad = true
			return
		}
		// The whole kind (e.g. values(node)): depend on every one.
		for _, t := range l.byKind[kind] {
			l.addDep(d, t.key, rng)
		}
		return
	}
	key := kind + "." + step
	if _, ok := l.byKey[key]; !ok {
		var names []string
		for _, t := range l.byKind[kind] {
			names = append(names, t.name)
		}
		hint := ""
		if s := suggest(step, names); s != "" {
			hint = fmt.Sprintf(" Did you mean %s.%s?", kind, s)
		}
		what := kind + " block"
		if kind == kindLocal {
			l.errorf(&rng, "Reference to undeclared local value",
				"A local value named %q has not been declared. Add it to a locals block.%s", step, hint)
		} else {
			l.errorf(&rng, "Reference to undeclared "+kind,
				"A %s named %q has not been declared in any file.%s", what, step, hint)
		}
		d.bad = true
		return
	}
	l.addDep(d, key, rng)
}

func (l *loader) addDep(d *decl, key string, rng hcl.Range) {
	if _, ok := d.depRange[key]; ok {
		return
	}
	d.depRange[key] = rng
	d.deps = append(d.deps, key)
}

// order returns the declarations in an order where each comes after what it
// refers to, and reports every cycle. Declarations in or behind a cycle are
// left out.
func (l *loader) order() []*decl {
	n := len(l.decls)
	indeg := make([]int, n)
	users := make([][]int, n)
	for _, d := range l.decls {
		for _, k := range d.deps {
			t := l.byKey[k]
			indeg[d.index]++
			users[t.index] = append(users[t.index], d.index)
		}
	}
	// Kahn's algorithm; the ready set is kept in declaration order so the
	// evaluation order (and so the diagnostics order) is deterministic.
	var ready []int
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	out := make([]*decl, 0, n)
	for len(ready) > 0 {
		sort.Ints(ready)
		i := ready[0]
		ready = ready[1:]
		out = append(out, l.decls[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(out) < n {
		l.reportCycles(indeg)
	}
	return out
}

// reportCycles finds the strongly connected components among the
// declarations left over by the topological sort and reports each cycle once,
// naming its members in reference order.
func (l *loader) reportCycles(indeg []int) {
	left := map[int]bool{}
	for i, v := range indeg {
		if v > 0 {
			left[i] = true
		}
	}
	// Tarjan's algorithm over the leftover subgraph.
	index, low := map[int]int{}, map[int]int{}
	onStack := map[int]bool{}
	var stack []int
	next := 0
	var sccs [][]int
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, k := range l.decls[v].deps {
			w := l.byKey[k].index
			if !left[w] {
				continue
			}
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, scc)
		}
	}
	for i := 0; i < len(l.decls); i++ {
		if _, seen := index[i]; left[i] && !seen {
			strong(i)
		}
	}
	sort.Slice(sccs, func(a, b int) bool { return minOf(sccs[a]) < minOf(sccs[b]) })
	for _, scc := range sccs {
		members := map[int]bool{}
		for _, v := range scc {
			members[v] = true
		}
		start := minOf(scc)
		self := false
		for _, k := range l.decls[start].deps {
			if l.byKey[k].index == start {
				self = true
			}
		}
		if len(scc) == 1 && !self {
			continue // only behind a cycle, not in one
		}
		path := l.cyclePath(start, members)
		names := make([]string, 0, len(path)+1)
		for _, v := range path {
			names = append(names, l.decls[v].key)
		}
		names = append(names, l.decls[start].key)
		first := l.decls[start]
		nextKey := names[1]
		rng := first.depRange[nextKey]
		l.errorf(&rng, "Cycle in references",
			"These declarations refer to each other in a loop, so none can be evaluated first: %s. Break the loop: replace one of the references with a literal value or a local value that does not depend on the others.", strings.Join(names, " → "))
	}
}

// cyclePath returns a shortest path from start back to start within the
// component (breadth-first), without the closing repeat of start.
func (l *loader) cyclePath(start int, members map[int]bool) []int {
	prev := map[int]int{}
	queue := []int{start}
	visited := map[int]bool{}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, k := range l.decls[v].deps {
			w := l.byKey[k].index
			if !members[w] {
				continue
			}
			if w == start {
				path := []int{v}
				for v != start {
					v = prev[v]
					path = append([]int{v}, path...)
				}
				return path
			}
			if !visited[w] {
				visited[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []int{start}
}

func minOf(xs []int) int {
	m := xs[0]
	for _, x := range xs[1:] {
		m = min(m, x)
	}
	return m
}

// suggest returns the candidate closest to name, if it is close enough to
// be a likely typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(name, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// attributesInOrder lists attrs in the order they stand in their file:
// hcl.Attributes is a map, and diagnostics and evaluation must not depend
// on Go's map order.
func attributesInOrder(attrs hcl.Attributes) []*hcl.Attribute {
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	return list
}
