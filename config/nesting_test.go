package config

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestNestingScanner: the pre-parse depth check refuses what nests past
// MaxNesting and accepts valid files whose brackets hide in strings,
// heredocs and comments, or whose conditionals are many but not nested.
func TestNestingScanner(t *testing.T) {
	deep := func(open, close string, n int) string {
		return "x = " + strings.Repeat(open, n) + "1" + strings.Repeat(close, n) + "\n"
	}
	many := func(line string, n int) string { return strings.Repeat(line, n) }
	ok := []struct{ name, src string }{
		{"parentheses at the limit", deep("(", ")", MaxNesting-1)},
		{"brackets in strings", many("b {\n  a = \"((((([[[[{{{{\"\n}\n", 400)},
		{"escaped quote", "a = \"\\\"(((\"\n" + deep("(", ")", MaxNesting-1)},
		{"brackets in comments", many("# ((((((((\n// [[[[[[[[\n/* {{{{{{{ */\n", 400)},
		{"brackets in a heredoc", "a = <<EOT\n" + many("((((([[[[[{{{{{\n", 100) + "EOT\n" + deep("(", ")", 200)},
		{"indented heredoc with interpolation", "a = <<-EOT\n  ${\"(\"} ((((\n  EOT\n" + deep("[", "]", 200)},
		{"literal ${ in a string", many("b {\n  a = \"$${((((\"\n}\n", 300)},
		{"many conditionals in a body", many("b {\n  a = true ? 1 : 2\n}\n", 1000)},
		{"many conditionals in a list", "a = [" + many("true ? 1 : 2, ", 1000) + "]\n"},
		{"a chain of subtractions below the limit", "a = 1" + many(" - 1", MaxNesting-1) + "\n"},
		{"many splats in a list", "a = [" + many("x[*].a, ", 300) + "]\n"},
		{"many operators in a list", "a = [" + many("1 + 2 * 3 >= 4 && !false, ", 300) + "]\n"},
		{"for expressions", many("b {\n  a = {for k, v in {x = 1} : k => v * 2 if v != 0 || v <= 1}\n}\n", 300)},
		{"directives opened and closed", "a = \"" + many("%{ if true }x%{ endif }", 1000) + "\"\n"},
	}
	for _, tc := range ok {
		if at := nestingExceeded([]byte(tc.src)); at >= 0 {
			t.Errorf("%s: refused at byte %d", tc.name, at)
		}
		if _, diags := hclsyntax.ParseConfig([]byte(tc.src), "x.hcl", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("%s: not valid HCL (the case is wrong): %s", tc.name, diags.Error())
		}
	}
	bad := []struct{ name, src string }{
		{"parentheses", deep("(", ")", MaxNesting+1)},
		{"braces", deep("{a=", "}", MaxNesting+1)},
		{"blocks", strings.Repeat("b {\n", MaxNesting+1)},
		{"templates", deep("\"${", "}\"", MaxNesting/2+1)},
		{"heredoc templates", "a = <<EOT\n" + strings.Repeat("${[", MaxNesting) + "\nEOT\n"},
		{"unary", "a = " + strings.Repeat("!", MaxNesting+1) + "true\n"},
		{"negation", "a = " + strings.Repeat("- ", MaxNesting+1) + "1\n"},
		{"conditionals", "a = " + strings.Repeat("true ? 1 : ", MaxNesting+1) + "2\n"},
		{"additions", "a = 1" + strings.Repeat("+1", MaxNesting+1) + "\n"},
		{"subtractions", "a = 1" + strings.Repeat(" - 1", MaxNesting+1) + "\n"},
		{"conjunctions", "a = true" + strings.Repeat(" && true", MaxNesting+1) + "\n"},
		{"splats", "a = [1]" + strings.Repeat("[*]", MaxNesting+1) + "\n"},
		{"attribute splats", "a = [1]" + strings.Repeat(".*", MaxNesting+1) + "\n"},
		{"directives", "a = \"" + strings.Repeat("%{ if true }", MaxNesting+1) + "\"\n"},
		{"mixed", "a = " + strings.Repeat("([{!", MaxNesting/3+1)},
	}
	for _, tc := range bad {
		if nestingExceeded([]byte(tc.src)) < 0 {
			t.Errorf("%s: not refused", tc.name)
		}
	}
}
